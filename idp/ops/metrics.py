"""Prometheus metrics of the platform itself.

Request metrics are counted in-process by `RequestMetricsMiddleware`; run metrics and the
queue depth are read from the database and the broker at scrape time by `PlatformCollector`,
so every web process reports the same, true numbers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.http import HttpRequest, HttpResponse
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from .status import queue_depth, run_model

logger = logging.getLogger(__name__)

REQUESTS = Counter(
    "idp_http_requests_total", "HTTP requests answered, by method and status", ["method", "status"]
)
LATENCY = Histogram(
    "idp_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
RUN_DURATION_BUCKETS = (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


class PlatformCollector(Collector):
    """Runs by kind and outcome, run durations and queue depth, read at scrape time."""

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("idp_queue_depth", "Tasks waiting in the default Celery queue")
        value = queue_depth()
        if value is not None:
            depth.add_metric([], value)
        yield depth
        try:
            yield from self._runs()
        except Exception as exc:  # noqa: BLE001 - a scrape must not fail because the DB did
            logger.warning("run metrics unavailable: %s", exc.__class__.__name__)

    def _runs(self) -> Iterator[Metric]:
        Run = run_model()
        if Run is None:
            return
        runs = CounterMetricFamily(
            "idp_runs", "Terraform runs by kind and status", labels=["kind", "status"]
        )
        for row in Run.objects.order_by().values("kind", "status").annotate(n=Count("id")):
            runs.add_metric([row["kind"], row["status"]], row["n"])
        yield runs
        yield self._durations(Run)

    def _durations(self, Run: Any) -> Metric:
        duration = ExpressionWrapper(
            F("finished_at") - F("started_at"), output_field=DurationField()
        )
        aggregates: dict[str, Any] = {"count": Count("id"), "total": Sum("duration")}
        for index, bound in enumerate(RUN_DURATION_BUCKETS):
            aggregates[f"le{index}"] = Count("id", filter=Q(duration__lte=timedelta(seconds=bound)))
        family = HistogramMetricFamily(
            "idp_run_duration_seconds", "Duration of finished runs, by kind", labels=["kind"]
        )
        rows = (
            Run.objects.filter(started_at__isnull=False, finished_at__isnull=False)
            .order_by()
            .annotate(duration=duration)
            .values("kind")
            .annotate(**aggregates)
        )
        for row in rows:
            buckets = [
                (str(float(bound)), row[f"le{index}"])
                for index, bound in enumerate(RUN_DURATION_BUCKETS)
            ]
            buckets.append(("+Inf", row["count"]))
            total = row["total"].total_seconds() if row["total"] else 0.0
            family.add_metric([row["kind"]], buckets, sum_value=total)
        return family


_collector_registered = False


def register_collector(registry: CollectorRegistry = REGISTRY) -> None:
    """Add the platform collector once per process."""
    global _collector_registered
    if not _collector_registered:
        registry.register(PlatformCollector())
        _collector_registered = True


class RequestMetricsMiddleware:
    """Counts every request by method and status and times it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        register_collector()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        # Unknown verbs share one label so a client cannot blow up the series count.
        method = request.method if request.method in KNOWN_METHODS else "other"
        LATENCY.labels(method).observe(time.perf_counter() - started)
        REQUESTS.labels(method, str(response.status_code)).inc()
        return response
