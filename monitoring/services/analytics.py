"""Usage analytics: requests, lead times, approval waits, failure and drift counts, DORA-style
pipeline figures per service, over a selectable period."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count
from django.utils import timezone

from idp.actors import Person
from idp.models import Team
from idp.services import ServiceError
from provisioning.choices import ResourceStatus, RunStatus

from ..choices import PERIOD_DAYS


def parse_period(value: Any, default: int = 30) -> int:
    """A period in days: one of 7, 30, 90 (400 otherwise)."""
    if value in (None, ""):
        return default
    try:
        days = int(str(value).rstrip("d"))
    except ValueError:
        days = -1
    if days not in PERIOD_DAYS:
        choices = ", ".join(str(d) for d in PERIOD_DAYS)
        raise ServiceError(f"Choose a period of {choices} days.", field="period")
    return days


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return round(ordered[rank - 1], 1)


def _scoped(model: Any, user: Person | None, teams: list[Team] | None) -> Any:
    qs = model.objects.for_user(user) if user is not None else model.objects.all()
    if teams is not None:
        field = getattr(model, "team_field", "team")
        qs = qs.filter(**{f"{field}__in": teams})
    return qs


def usage(
    user: Person | None,
    *,
    teams: list[Team] | None = None,
    days: int = 30,
    now: datetime | None = None,
) -> dict:
    """Provisioning analytics for the teams the user sees (optionally narrowed to `teams`)."""
    from provisioning.models import Approval, Resource, Run

    since = (now or timezone.now()) - timedelta(days=days)
    resources = _scoped(Resource, user, teams).filter(created_at__gte=since)
    requests_by_template = list(
        resources.values("template__slug").annotate(count=Count("id")).order_by("-count")
    )
    requests_by_team = list(
        resources.values("team__slug").annotate(count=Count("id")).order_by("-count")
    )
    lead: list[float] = []
    lead_by_template: dict[str, list[float]] = {}
    for slug, created, provisioned in resources.filter(provisioned_at__isnull=False).values_list(
        "template__slug", "created_at", "provisioned_at"
    ):
        minutes = (provisioned - created).total_seconds() / 60
        lead.append(minutes)
        lead_by_template.setdefault(slug, []).append(minutes)
    waits = []
    for approval in (
        _scoped(Approval, user, teams).filter(created_at__gte=since).select_related("run")
    ):
        asked = approval.run.finished_at or approval.run.created_at
        waits.append(max(0.0, (approval.created_at - asked).total_seconds() / 60))
    runs = _scoped(Run, user, teams).filter(created_at__gte=since)
    finished = runs.filter(status__in=[RunStatus.SUCCEEDED, RunStatus.FAILED]).values("status")
    failed = sum(1 for r in finished if r["status"] == RunStatus.FAILED)
    total = len(finished)
    drifted = (
        _scoped(Resource, user, teams)
        .filter(drifted=True, status=ResourceStatus.PROVISIONED)
        .count()
    )
    return {
        "period_days": days,
        "requests_total": resources.count(),
        "requests_by_template": [
            {"template": r["template__slug"], "count": r["count"]} for r in requests_by_template
        ],
        "requests_by_team": [
            {"team": r["team__slug"], "count": r["count"]} for r in requests_by_team
        ],
        "lead_time_minutes": {
            "p50": percentile(lead, 50),
            "p95": percentile(lead, 95),
            "count": len(lead),
        },
        "lead_time_by_template": [
            {"template": slug, "p50": percentile(v, 50), "p95": percentile(v, 95), "count": len(v)}
            for slug, v in sorted(lead_by_template.items())
        ],
        "approval_wait_minutes": {
            "p50": percentile(waits, 50),
            "p95": percentile(waits, 95),
            "count": len(waits),
        },
        "run_failure_rate": round(failed / total, 3) if total else None,
        "runs_finished": total,
        "drift_count": drifted,
        "pipelines": pipeline_stats(user, teams=teams, since=since, days=days),
    }


def pipeline_stats(
    user: Person | None, *, teams: list[Team] | None, since: datetime, days: int
) -> list[dict[str, Any]]:
    """Success rate and deployments per day per service, from the pipelines' runs."""
    from pipelines.choices import RunStatus as PipelineRunStatus
    from pipelines.models import PipelineRun

    qs = PipelineRun.objects.for_user(user) if user is not None else PipelineRun.objects.all()
    if teams is not None:
        qs = qs.filter(pipeline__service__team__in=teams)
    fields = ["pipeline__service__slug", "status", "conclusion", "environment"]
    rows: dict[str, dict[str, Any]] = {}
    for slug, status, conclusion, environment in qs.filter(created_at__gte=since).values_list(
        *fields
    ):
        row = rows.setdefault(
            slug or "(none)",
            {"service": slug, "runs": 0, "completed": 0, "succeeded": 0, "deployments": 0},
        )
        row["runs"] += 1
        if status == PipelineRunStatus.COMPLETED or conclusion:
            row["completed"] += 1
            if conclusion == "success":
                row["succeeded"] += 1
                # A successful run for an environment is a deployment; blank = PR checks.
                if environment:
                    row["deployments"] += 1
    for row in rows.values():
        row["success_rate"] = (
            round(row["succeeded"] / row["completed"], 3) if row["completed"] else None
        )
        row["deployments_per_day"] = round(row["deployments"] / days, 3)
    return sorted(rows.values(), key=lambda r: r["service"] or "")
