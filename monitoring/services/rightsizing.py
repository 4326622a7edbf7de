"""Right-sizing hints from stored metrics: idle databases, oversized functions, empty queues
and buckets, each with the monthly saving it would bring."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Max, Min
from django.utils import timezone

from provisioning.choices import ResourceStatus

from ..models import MetricSample
from .metrics import resource_type

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from provisioning.models import Resource

IDLE_DAYS = 14
IDLE_CPU_PERCENT = 5.0
MEMORY_USE_RATIO = 0.4
EMPTY_DAYS = 14


@dataclass
class Hint:
    resource: Resource
    kind: str
    message: str
    saving: Decimal


def _cost(resource: Resource) -> Decimal:
    return resource.estimated_monthly_cost or Decimal("0")


def _window(resource: Resource, metric: str, since: datetime) -> dict[str, Any]:
    return MetricSample.objects.filter(
        resource=resource, metric=metric, timestamp__gte=since
    ).aggregate(lo=Min("value"), hi=Max("value"), first=Min("timestamp"))


def _covers(stats: dict[str, Any], since: datetime) -> bool:
    # Only a window that really spans the period counts: a day of data is no evidence.
    return stats["first"] is not None and stats["first"] <= since + timedelta(days=1)


def hints_for(resource: Resource, now: datetime | None = None) -> list[Hint]:
    """The right-sizing hints of one provisioned resource."""
    if resource.status != ResourceStatus.PROVISIONED:
        return []
    now = now or timezone.now()
    rtype = resource_type(resource)
    hints: list[Hint] = []
    if rtype == "rds":
        since = now - timedelta(days=IDLE_DAYS)
        stats = _window(resource, "CPUUtilization", since)
        if _covers(stats, since) and stats["hi"] < IDLE_CPU_PERCENT:
            hints.append(
                Hint(
                    resource,
                    "idle",
                    (
                        f"CPU stayed under {IDLE_CPU_PERCENT:g}% for {IDLE_DAYS} days "
                        f"(peak {stats['hi']:.1f}%): a smaller instance class, or stop it."
                    ),
                    (_cost(resource) / 2).quantize(Decimal("0.01")),
                )
            )
    elif rtype == "lambda":
        since = now - timedelta(days=IDLE_DAYS)
        configured = _memory(resource)
        stats = _window(resource, "used_memory_max", since)
        if configured and stats["hi"] is not None and stats["hi"] < configured * MEMORY_USE_RATIO:
            suggested = max(128, int(stats["hi"] * 1.5 // 64 + 1) * 64)
            if suggested < configured:
                saving = _cost(resource) * Decimal(1 - suggested / configured)
                hints.append(
                    Hint(
                        resource,
                        "oversized",
                        (
                            f"Memory {configured} MB configured, "
                            f"at most {stats['hi']:.0f} MB used: "
                            f"{suggested} MB is enough."
                        ),
                        saving.quantize(Decimal("0.01")),
                    )
                )
    elif rtype in ("sqs", "s3"):
        metric = "ApproximateNumberOfMessagesVisible" if rtype == "sqs" else "NumberOfObjects"
        since = now - timedelta(days=EMPTY_DAYS)
        stats = _window(resource, metric, since)
        if _covers(stats, since) and stats["hi"] == 0:
            what = "queue" if rtype == "sqs" else "bucket"
            hints.append(
                Hint(
                    resource,
                    "empty",
                    (f"The {what} has been empty for {EMPTY_DAYS} days: is it still needed?"),
                    _cost(resource),
                )
            )
    return hints


def _memory(resource: Resource) -> int | None:
    for key in ("memory_size", "memory_mb", "memory"):
        value = (resource.parameters or {}).get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return int(value)
    return None


def hints_for_many(resources: QuerySet[Resource], now: datetime | None = None) -> list[Hint]:
    hints: list[Hint] = []
    for resource in resources.filter(status=ResourceStatus.PROVISIONED).select_related(
        "template", "template_version", "team", "environment"
    ):
        hints.extend(hints_for(resource, now))
    return sorted(hints, key=lambda h: -h.saving)
