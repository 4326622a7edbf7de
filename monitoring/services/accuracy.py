"""Estimates checked against actuals: for each resource with a complete month of Cost
Explorer actuals (by its `idp:team` and `idp:resource` tags), its estimate against what it
cost; the error per template (mean absolute percentage error), the resources far off, and a
per-template correction learned from the actuals (switched on by `IDP_COST_CORRECTION`).

A month is complete for a resource when the month is over, the resource was provisioned
before it began, and no apply changed it during the month (its estimate held all month).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from idp import audit
from idp.conf import setting
from idp.models import Environment
from provisioning.choices import RunKind, RunStatus
from provisioning.models import Resource, Run

from ..choices import AuditAction, CollectionKind
from ..models import Collection, CostAccuracy
from . import aws
from .costs import CENT, _amount, _query, _tag_value, month_bounds

logger = logging.getLogger(__name__)

TAG_RESOURCE = "idp:resource"
HUNDRED = Decimal("100")


def previous_month(today: date | None = None) -> date:
    """The first day of the month before today's."""
    first = (today or timezone.now().date()).replace(day=1)
    if first.month == 1:
        return first.replace(year=first.year - 1, month=12)
    return first.replace(month=first.month - 1)


def collect_accuracy(month: date | None = None) -> Collection:
    """Store estimate against actual of every resource with a complete month of actuals
    (default: last month), one Cost Explorer query per environment: a pass of the jobs
    framework (monitoring/services/collections.py)."""
    from .collections import run

    return run(CollectionKind.ACCURACY, lambda row: collect_accuracy_into(row, month=month))


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _estimate_at(resource: Resource, end: datetime) -> Decimal | None:
    """The estimate the resource stood on at the month's end: its last apply's plan cost
    (the corrected figure is not the estimate being checked), else its recorded estimate."""
    apply = (
        Run.objects.filter(
            resource=resource,
            kind=RunKind.APPLY,
            status=RunStatus.SUCCEEDED,
            finished_at__lt=end,
        )
        .select_related("plan_run")
        .order_by("-finished_at")
        .first()
    )
    cost = apply.plan_run.cost if apply is not None and apply.plan_run is not None else None
    if cost and not cost.get("unpriced"):
        return Decimal(str(cost["monthly_after"]))
    return resource.estimated_monthly_cost


def _eligible(env: Environment, first: date, next_first: date) -> dict[tuple[str, str], Resource]:
    """(team slug, resource name) → resource, for resources of the environment that stood
    unchanged the whole month."""
    start, end = _aware(first), _aware(next_first)
    changed = Run.objects.filter(
        kind=RunKind.APPLY,
        status=RunStatus.SUCCEEDED,
        finished_at__gte=start,
        finished_at__lt=end,
    ).values("resource_id")
    resources = (
        Resource.objects.filter(environment=env, provisioned_at__lt=start)
        .filter(Q(destroyed_at__isnull=True) | Q(destroyed_at__gte=end))
        .exclude(pk__in=changed)
        .select_related("team", "template")
    )
    return {(r.team.slug, r.name): r for r in resources}


def collect_accuracy_into(collection: Collection, *, month: date | None = None) -> None:
    """The pass itself, into a claimed Collection row."""
    today = timezone.now().date()
    first, next_first = month_bounds(month or previous_month(today))
    if next_first > today:
        collection.errors.append({"error": f"{first:%Y-%m} is not over yet"})
        return
    try:
        client = aws.client("ce", region="us-east-1")
    except Exception as exc:  # noqa: BLE001 - recorded in the collection
        collection.errors.append({"error": aws.error_text(exc)})
        return
    with aws.counting_retries() as retried:
        for env in Environment.objects.order_by("order", "slug"):
            resources = _eligible(env, first, next_first)
            if not resources:
                continue
            try:
                months = _query(
                    client, first, next_first, env.slug, granularity="MONTHLY", by=TAG_RESOURCE
                )
            except Exception as exc:  # noqa: BLE001 - recorded; other environments go on
                logger.warning("get_cost_and_usage failed for %s: %s", env.slug, exc)
                collection.errors.append({"environment": env.slug, "error": aws.error_text(exc)})
                continue
            actuals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
            for period in months:
                for group in period.get("Groups", []):
                    keys = [_tag_value(k) for k in group.get("Keys", [])]
                    if len(keys) == 2 and tuple(keys) in resources:
                        actuals[(keys[0], keys[1])] += _amount(group.get("Metrics", {}))
            collection.stored += _store(resources, actuals, env.slug, first, _aware(next_first))
    collection.retries = len(retried)
    audit.record(
        AuditAction.MONITORING_ACCURACY_COLLECTED,
        target=collection,
        details={"month": f"{first:%Y-%m}", "stored": collection.stored},
    )


def _store(
    resources: dict[tuple[str, str], Resource],
    actuals: dict[tuple[str, str], Decimal],
    env_slug: str,
    first: date,
    end: datetime,
) -> int:
    stored = 0
    with transaction.atomic():
        for key, actual in actuals.items():
            resource = resources[key]
            estimate = _estimate_at(resource, end)
            if estimate is None:
                continue
            CostAccuracy.objects.update_or_create(
                resource=resource,
                month=first,
                defaults={
                    "team": resource.team,
                    "template_slug": resource.template.slug,
                    "environment_slug": env_slug,
                    "estimated": estimate.quantize(CENT),
                    "actual": actual.quantize(CENT),
                },
            )
            stored += 1
    return stored


# --- the figures ---------------------------------------------------------------------


def visible(
    user: Any,
    *,
    team: Any = None,
    template: str | None = None,
    months: int = 12,
    today: date | None = None,
) -> QuerySet[CostAccuracy]:
    """The checked months `user` may see (their teams' resources), the newest
    `months` months, optionally of one team or template."""
    first = (today or timezone.now().date()).replace(day=1)
    for _ in range(months):
        first = previous_month(first)
    qs = CostAccuracy.objects.for_user(user).filter(month__gte=first)
    if team is not None:
        qs = qs.filter(team=team)
    if template:
        qs = qs.filter(template_slug=template)
    return qs


def corrections(qs: QuerySet[CostAccuracy] | None = None) -> dict[str, tuple[Decimal, int]]:
    """Per template: the factor actual / estimate over every stored month (the sums'
    ratio, so a large resource weighs more), and how many figures it was learned from."""
    qs = CostAccuracy.objects.all() if qs is None else qs
    rows = (
        qs.filter(estimated__gt=0)
        .values("template_slug")
        .annotate(actual=Sum("actual"), estimated=Sum("estimated"), n=Count("pk"))
    )
    return {
        r["template_slug"]: ((r["actual"] / r["estimated"]).quantize(Decimal("0.0001")), r["n"])
        for r in rows
        if r["estimated"]
    }


def apply_correction(cost: dict[str, Any], template_slug: str) -> None:
    """Add the template's learned correction to a plan's cost (both figures stay)."""
    found = corrections(CostAccuracy.objects.filter(template_slug=template_slug)).get(template_slug)
    if found is None:
        return
    factor, learned_from = found
    cost["correction"] = {"factor": str(factor), "learned_from": learned_from}
    corrected = Decimal(str(cost["monthly_after"])) * factor
    cost["corrected_monthly_after"] = str(corrected.quantize(CENT))


def _percent(value: Decimal) -> float:
    return float(value.quantize(CENT))


def _ape(estimate: Decimal, actual: Decimal) -> Decimal:
    return abs(estimate - actual) / actual * HUNDRED


def _mean(values: list[Decimal]) -> Decimal:
    return sum(values, Decimal("0")) / len(values)


def accuracy_report(qs: QuerySet[CostAccuracy], *, corrected: bool | None = None) -> dict[str, Any]:
    """The error per template (MAPE over its resource-months with an actual), the
    resource-months more than the threshold off, and the MAPE per template and month (the
    chart); with the correction on, the corrected figures beside the list-price ones."""
    corrected = setting("IDP_COST_CORRECTION") if corrected is None else corrected
    threshold = Decimal(str(setting("IDP_COST_ACCURACY_THRESHOLD")))
    factors = corrections() if corrected else {}
    records = list(qs.filter(actual__gt=0).select_related("resource", "team"))
    per_template: dict[str, list[CostAccuracy]] = defaultdict(list)
    per_month: dict[tuple[str, date], list[Decimal]] = defaultdict(list)
    off: list[dict[str, Any]] = []
    for record in records:
        error = _ape(record.estimated, record.actual)
        per_template[record.template_slug].append(record)
        per_month[(record.template_slug, record.month)].append(error)
        if error > threshold:
            off.append(
                {
                    "resource": {"id": record.resource_id, "name": record.resource.name},
                    "team": record.team.slug,
                    "template": record.template_slug,
                    "environment": record.environment_slug,
                    "month": record.month.strftime("%Y-%m"),
                    "estimated": str(record.estimated),
                    "actual": str(record.actual),
                    "error_percent": _percent(
                        (record.estimated - record.actual) / record.actual * HUNDRED
                    ),
                }
            )
    templates = []
    for slug, rows in sorted(per_template.items()):
        errors = [_ape(r.estimated, r.actual) for r in rows]
        entry: dict[str, Any] = {
            "template": slug,
            "resource_months": len(rows),
            "estimated": str(sum((r.estimated for r in rows), Decimal("0"))),
            "actual": str(sum((r.actual for r in rows), Decimal("0"))),
            "mape": _percent(_mean(errors)),
        }
        if corrected:
            factor = factors.get(slug, (Decimal("1"), 0))[0]
            fixed = [_ape(r.estimated * factor, r.actual) for r in rows]
            entry["correction"] = str(factor)
            entry["corrected_mape"] = _percent(_mean(fixed))
        templates.append(entry)
    months = sorted({month for _, month in per_month})
    series = [
        {
            "template": slug,
            "points": [
                {
                    "month": m.strftime("%Y-%m"),
                    "mape": _percent(_mean(per_month[(slug, m)]))
                    if (slug, m) in per_month
                    else None,
                }
                for m in months
            ],
        }
        for slug in sorted(per_template)
    ]
    off.sort(key=lambda o: (-abs(float(o["error_percent"])), str(o["month"]), str(o["team"])))
    return {
        "threshold_percent": float(threshold),
        "correction": bool(corrected),
        "templates": templates,
        "off": off,
        "months": [m.strftime("%Y-%m") for m in months],
        "series": series,
    }
