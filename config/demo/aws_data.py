"""Demo figures put into the local AWS API, then read by the platform's own collectors.

Cost Explorer: moto answers `get_cost_and_usage` from a queue of results configured through
its own API (`POST /moto-api/static/ce/cost-and-usage-results`); each new request takes the
next one. The cost collector asks once per environment, in the environments' order, so the
queue holds one result per environment in that order, for exactly the window passed to it.
CloudWatch: `put_metric_data` with the namespace and dimensions a real queue's metrics have.
"""

from __future__ import annotations

import json
import math
import urllib.request
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from idp.models import Environment
from monitoring.models import Collection
from monitoring.services import alarms, aws, costs, metrics

MOTO_CE_RESULTS = "/moto-api/static/ce/cost-and-usage-results"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class CostLine:
    """What one team's service costs per day in one environment, before daily variation."""

    team: str
    environment: str
    service: str
    usd_per_day: Decimal


COST_LINES = [
    CostLine("payments", "prod", "payments-api", Decimal("2.40")),
    CostLine("payments", "prod", "ledger", Decimal("1.10")),
    CostLine("payments", "prod", "refunds-worker", Decimal("0.70")),
    CostLine("payments", "staging", "payments-api", Decimal("0.45")),
    CostLine("payments", "dev", "payments-api", Decimal("0.25")),
    CostLine("payments", "sandbox", "", Decimal("0.10")),
    CostLine("search", "prod", "search-api", Decimal("1.60")),
    CostLine("search", "prod", "indexer", Decimal("1.20")),
    CostLine("search", "dev", "search-api", Decimal("0.20")),
    CostLine("platform", "prod", "idp", Decimal("0.90")),
]
DEMO_TEAMS = sorted({line.team for line in COST_LINES})


def cost_window(today: date | None = None) -> tuple[date, date]:
    """The cost collector's default window: the first of last month until tomorrow."""
    today = today or timezone.now().date()
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1), today + timedelta(days=1)


def _amount(line: CostLine, day: date, index: int) -> Decimal:
    # A steady, repeatable wobble (±20 %) so the charts look like real spend.
    wobble = Decimal(str(round(math.sin(day.toordinal() * 0.9 + index) * 0.2, 3)))
    return (line.usd_per_day * (1 + wobble)).quantize(CENT)


def cost_results(envs: list[str], start: date, end: date) -> list[dict[str, Any]]:
    """One Cost Explorer answer per environment (in `envs` order): daily costs grouped by the
    `idp:team` and `idp:service` tags, as the collector asks for them."""
    results = []
    for env in envs:
        days = []
        day = start
        while day < end:
            groups = [
                {
                    "Keys": [f"idp:team${line.team}", f"idp:service${line.service}"],
                    "Metrics": {
                        "UnblendedCost": {"Amount": str(_amount(line, day, i)), "Unit": "USD"}
                    },
                }
                for i, line in enumerate(COST_LINES)
                if line.environment == env
            ]
            days.append(
                {
                    "TimePeriod": {
                        "Start": day.isoformat(),
                        "End": (day + timedelta(days=1)).isoformat(),
                    },
                    "Total": {},
                    "Groups": groups,
                    "Estimated": day >= timezone.now().date() - timedelta(days=1),
                }
            )
            day += timedelta(days=1)
        results.append({"ResultsByTime": days, "DimensionValueAttributes": []})
    return results


def local_aws_url() -> str:
    """The local AWS API the demo writes to; the demo never writes to real AWS."""
    url = str(settings.AWS_ENDPOINT_URL or "")
    if not url:
        raise RuntimeError("AWS_ENDPOINT_URL is not set: the demo only seeds a local AWS API")
    return url.rstrip("/")


def queue_cost_results(results: list[dict[str, Any]]) -> None:
    """Queue Cost Explorer answers in moto through its own configuration API."""
    body = json.dumps({"results": results}).encode()
    request = urllib.request.Request(  # noqa: S310 - the local AWS API checked above
        local_aws_url() + MOTO_CE_RESULTS,
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        if response.status != 201:
            raise RuntimeError(f"moto refused the cost results (HTTP {response.status})")


def seed_costs(today: date | None = None) -> Collection:
    """Queue the demo's costs in the local Cost Explorer, then run the cost collector."""
    start, end = cost_window(today)
    envs = list(Environment.objects.order_by("order", "slug").values_list("slug", flat=True))
    queue_cost_results(cost_results(envs, start, end))
    return costs.collect_costs(start=start, end=end)


# --- CloudWatch --------------------------------------------------------------------

QUEUE_METRICS = ("ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage")
METRIC_HOURS = 24
STEP = timedelta(minutes=5)


def _queue_values(stamp: datetime) -> tuple[float, float]:
    """Messages waiting and the oldest one's age: busy by day, quiet at night."""
    hour = stamp.hour + stamp.minute / 60
    daily = max(0.0, math.sin((hour - 6) / 24 * 2 * math.pi))
    noise = (math.sin(stamp.timestamp() / 900) + 1) * 6
    visible = round(20 + 180 * daily + noise, 1)
    return visible, round(4 + visible * 0.6, 1)


def put_queue_metrics(resource: Any, now: datetime | None = None) -> int:
    """Put a day of 5-minute datapoints of the queue's SQS metrics into CloudWatch."""
    rtype = metrics.resource_type(resource)
    if rtype is None:
        raise RuntimeError(f"{resource} has no monitored resource type")
    dims = metrics.dimensions(resource, rtype)
    end = (now or timezone.now()).replace(second=0, microsecond=0)
    end -= timedelta(minutes=end.minute % 5)
    stamps = [end - STEP * i for i in range(int(timedelta(hours=METRIC_HOURS) / STEP))]
    client = aws.client("cloudwatch", resource.environment)
    data = []
    for stamp in stamps:
        visible, age = _queue_values(stamp)
        for name, value in zip(QUEUE_METRICS, (visible, age), strict=True):
            data.append(
                {"MetricName": name, "Dimensions": dims, "Timestamp": stamp, "Value": value}
            )
    for offset in range(0, len(data), 500):  # CloudWatch takes at most 1000 values a call
        aws.call(
            client.put_metric_data, Namespace="AWS/SQS", MetricData=data[offset : offset + 500]
        )
    return len(data)


def collect_metrics() -> Collection:
    """The platform's metrics collection over the demo's whole day, then alarm states."""
    collection = metrics.collect_metrics(hours=METRIC_HOURS + 1)
    alarms.refresh_alarm_states()
    return collection
