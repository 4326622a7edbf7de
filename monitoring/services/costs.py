"""Costs: actual costs from Cost Explorer and their sums (estimates from template cost hints
are the registry's: catalog/services/costs.py)."""

from __future__ import annotations

import calendar
import logging
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from catalog.services.costs import decimal_or_none
from idp import audit
from idp.models import Environment, Team
from provisioning.choices import ResourceStatus

from ..choices import AuditAction, CollectionKind
from ..models import Collection, CostRecord
from . import aws
from .cache import bump

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
TAG_TEAM, TAG_SERVICE, TAG_ENVIRONMENT = "idp:team", "idp:service", "idp:environment"
COST_METRIC = "UnblendedCost"


def month_bounds(day: date) -> tuple[date, date]:
    """First day of the month and first day of the next month."""
    first = day.replace(day=1)
    days = calendar.monthrange(day.year, day.month)[1]
    return first, first + timedelta(days=days)


def _tag_value(key: str) -> str:
    # Cost Explorer names a tag group "idp:team$payments"; an untagged cost has nothing after $.
    return key.split("$", 1)[1] if "$" in key else ""


def _query(
    client: Any,
    start: date,
    end: date,
    env_slug: str,
    *,
    granularity: str = "DAILY",
    by: str = TAG_SERVICE,
) -> list[dict[str, Any]]:
    """Costs of one environment per `granularity` grouped by team and the tag `by` (the
    service; the accuracy check: the resource), every page."""
    results: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {
            "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
            "Granularity": granularity,
            "Metrics": [COST_METRIC],
            # Cost Explorer allows two group keys, so the environment is a filter.
            "GroupBy": [{"Type": "TAG", "Key": TAG_TEAM}, {"Type": "TAG", "Key": by}],
            "Filter": {"Tags": {"Key": TAG_ENVIRONMENT, "Values": [env_slug]}},
        }
        if token:
            kwargs["NextPageToken"] = token
        page = aws.call(client.get_cost_and_usage, **kwargs)
        results.extend(page.get("ResultsByTime", []))
        token = page.get("NextPageToken")
        if not token:
            return results


def _amount(metrics: dict[str, Any]) -> Decimal:
    for name in (COST_METRIC, "BlendedCost", "AmortizedCost", "NetUnblendedCost"):
        if name in metrics:
            return decimal_or_none(metrics[name].get("Amount")) or Decimal("0")
    return Decimal("0")


def collect_costs(*, start: date | None = None, end: date | None = None) -> Collection:
    """Ingest daily costs from Cost Explorer into CostRecords (an idempotent upsert): one
    pass, a job (monitoring/services/collections.py).

    Default window: the first of last month until tomorrow. Each environment is one query;
    a failed query is retried with backoff, recorded, and the other environments kept.
    """
    from .collections import run

    return run(CollectionKind.COSTS, lambda row: collect_costs_into(row, start=start, end=end))


def collect_costs_into(
    collection: Collection, *, start: date | None = None, end: date | None = None
) -> None:
    """The pass itself, into a claimed Collection row."""
    today = timezone.now().date()
    end = end or today + timedelta(days=1)
    start = start or (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    teams = {t.slug: t for t in Team.objects.all()}
    touched: set[str] = set()
    try:
        # Cost Explorer is a global API served from us-east-1.
        client = aws.client("ce", region="us-east-1")
    except Exception as exc:  # noqa: BLE001 - recorded in the collection
        collection.errors.append({"error": aws.error_text(exc)})
        client = None
    with aws.counting_retries() as retried:  # every retried call of the pass
        for env in Environment.objects.order_by("order", "slug") if client else []:
            try:
                days = _query(client, start, end, env.slug)
            except Exception as exc:  # noqa: BLE001 - recorded; other environments go on
                logger.warning("get_cost_and_usage failed for %s: %s", env.slug, exc)
                collection.errors.append({"environment": env.slug, "error": aws.error_text(exc)})
                continue
            rows: dict[tuple[int, str, date], tuple[Decimal, bool]] = {}
            for day in days:
                when = date.fromisoformat(day["TimePeriod"]["Start"])
                estimated = bool(day.get("Estimated", False))
                for group in day.get("Groups", []):
                    keys = group.get("Keys", [])
                    team = teams.get(_tag_value(keys[0]) if keys else "")
                    if team is None:
                        continue
                    service = _tag_value(keys[1]) if len(keys) > 1 else ""
                    key = (team.pk, service, when)
                    previous = rows.get(key, (Decimal("0"), False))[0]
                    rows[key] = (previous + _amount(group.get("Metrics", {})), estimated)
                    touched.add(team.slug)
            collection.stored += _upsert(rows, env.slug)
    collection.retries = len(retried)
    if touched:
        bump(*touched)
    audit.record(
        AuditAction.MONITORING_COSTS_COLLECTED,
        target=collection,
        details={"stored": collection.stored, "errors": len(collection.errors)},
    )


def _upsert(rows: dict[tuple[int, str, date], tuple[Decimal, bool]], env_slug: str) -> int:
    records = [
        CostRecord(
            team_id=team_id,
            service_slug=service,
            environment_slug=env_slug,
            date=when,
            amount=amount,
            estimated=estimated,
        )
        for (team_id, service, when), (amount, estimated) in rows.items()
    ]
    with transaction.atomic():
        CostRecord.objects.bulk_create(
            records,
            update_conflicts=True,
            unique_fields=["team", "service_slug", "environment_slug", "date"],
            update_fields=["amount", "estimated", "updated_at"],
        )
    return len(records)


def month_to_date(team: Team, today: date | None = None) -> Decimal:
    today = today or timezone.now().date()
    first, _ = month_bounds(today)
    total = CostRecord.objects.filter(team=team, date__gte=first, date__lte=today).aggregate(
        s=Sum("amount")
    )["s"]
    return (total or Decimal("0")).quantize(CENT)


def forecast_month(team: Team, today: date | None = None) -> Decimal:
    """The month's expected total: spend so far plus the daily average over the days left."""
    today = today or timezone.now().date()
    first, next_first = month_bounds(today)
    spent = month_to_date(team, today)
    elapsed = (today - first).days + 1
    remaining = (next_first - today).days - 1
    return (spent + spent / elapsed * remaining).quantize(CENT)


def daily_costs(qs: Any, start: date, end: date) -> list[dict[str, Any]]:
    """Every day between start and end (inclusive) with its summed cost, zero when none."""
    sums = {
        row["date"]: row["total"]
        for row in qs.filter(date__gte=start, date__lte=end)
        .values("date")
        .annotate(total=Sum("amount"))
    }
    days = []
    day = start
    while day <= end:
        amount = Decimal(sums.get(day) or 0).quantize(CENT)
        days.append({"date": day.isoformat(), "amount": str(amount)})
        day += timedelta(days=1)
    return days


def costs_by(qs: Any, field: str) -> list[dict[str, Any]]:
    """Summed cost per team / service / environment, largest first."""
    column = {"team": "team__slug", "service": "service_slug", "environment": "environment_slug"}[
        field
    ]
    rows = qs.values(column).annotate(total=Sum("amount")).order_by("-total", column)
    return [
        {field: row[column] or "(untagged)", "amount": str(row["total"].quantize(CENT))}
        for row in rows
    ]


def costs_by_template(qs: Any) -> list[dict[str, Any]]:
    """Cost per template: each (team, service, environment) cost split over its live resources
    by their estimated cost (evenly when none has one), since Cost Explorer has no template tag."""
    from provisioning.models import Resource

    totals = qs.values("team_id", "service_slug", "environment_slug").annotate(total=Sum("amount"))
    shares: dict[str, Decimal] = defaultdict(Decimal)
    for row in totals:
        resources = Resource.objects.filter(
            team_id=row["team_id"], environment__slug=row["environment_slug"]
        ).exclude(status=ResourceStatus.REJECTED)
        if row["service_slug"]:
            resources = resources.filter(service__slug=row["service_slug"])
        weights = [
            (r.template.slug, r.estimated_monthly_cost or Decimal("0"))
            for r in resources.select_related("template")
        ]
        if not weights:
            shares["(unattributed)"] += row["total"]
            continue
        total_weight = sum(w for _, w in weights)
        for slug, weight in weights:
            part = weight / total_weight if total_weight else Decimal(1) / len(weights)
            shares[slug] += row["total"] * part
    return [
        {"template": slug, "amount": str(amount.quantize(CENT))}
        for slug, amount in sorted(shares.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
