"""How often policies failed, per day and team, over the last days: the numbers behind the
Policies page's charts and tables and the API's `failures_30d`.

Read only from the PolicyResult rows the user may see (`for_user`: their teams' plans; a
platform admin sees every team), so another team's failures are never counted for them.
A failure is counted once per plan run, however many resources it named.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from .choices import Level
from .models import Policy, PolicyResult

WINDOW_DAYS = 30
# Chart colours, in order; a policy or team keeps its colour by its place in the sorted list.
PALETTE = (
    "#cf222e",
    "#2f5bea",
    "#9a6700",
    "#1a7f37",
    "#8250df",
    "#bc4c00",
    "#0969da",
    "#6e7781",
    "#bf3989",
    "#116329",
)


@dataclass(frozen=True)
class FailureCount:
    """Plan runs that `policy` failed for `team` on `day`."""

    day: date
    policy: str
    team: str
    team_name: str
    runs: int


def window(days: int = WINDOW_DAYS) -> list[date]:
    """The days of the window, oldest first, ending today (local time)."""
    today = timezone.localdate()
    return [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def failure_counts(
    user: Any, *, days: int = WINDOW_DAYS, policy: Policy | None = None
) -> list[FailureCount]:
    """Failed plan runs per day, policy and team of the teams `user` sees (one query)."""
    first = window(days)[0]
    since = timezone.make_aware(datetime.combine(first, time.min))
    results = PolicyResult.objects.for_user(user).filter(level=Level.FAILURE, created_at__gte=since)
    if policy is not None:
        results = results.filter(policy=policy)
    rows = (
        results.annotate(day=TruncDate("created_at"))
        .values("day", "policy__slug", "team__slug", "team__name")
        .annotate(runs=Count("run", distinct=True))
        .order_by("day", "policy__slug", "team__slug")
    )
    return [
        FailureCount(
            day=row["day"],
            policy=row["policy__slug"],
            team=row["team__slug"],
            team_name=row["team__name"],
            runs=row["runs"],
        )
        for row in rows
    ]


def totals_by_policy(counts: list[FailureCount]) -> dict[str, int]:
    """Failed plan runs of each policy over the window."""
    totals: dict[str, int] = defaultdict(int)
    for count in counts:
        totals[count.policy] += count.runs
    return dict(totals)


def totals_by_team(counts: list[FailureCount]) -> dict[str, dict[str, Any]]:
    """policy slug -> team slug -> {"team", "name", "runs"}: who failed each policy, how often."""
    totals: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for count in counts:
        entry = totals[count.policy].setdefault(
            count.team, {"team": count.team, "name": count.team_name, "runs": 0}
        )
        entry["runs"] += count.runs
    return {policy: dict(sorted(teams.items())) for policy, teams in totals.items()}


def daily_table(counts: list[FailureCount], *, by: str, days: int = WINDOW_DAYS) -> dict[str, Any]:
    """Failures per day split by "policy" or "team": the chart's data and the same numbers as
    a table (only the days with a failure, newest first, with a total column).

    `series` is the column order: the policies or teams that failed, sorted.
    """
    if by not in ("policy", "team"):
        raise ValueError(f"Split by policy or team, not {by!r}")
    labels = {
        count.policy if by == "policy" else count.team: (
            count.policy if by == "policy" else count.team_name
        )
        for count in counts
    }
    series = sorted(labels)
    cells: dict[tuple[date, str], int] = defaultdict(int)
    for count in counts:
        cells[(count.day, count.policy if by == "policy" else count.team)] += count.runs
    axis = window(days)
    datasets = [
        {
            "label": labels[key],
            "data": [cells.get((day, key), 0) for day in axis],
            "backgroundColor": PALETTE[index % len(PALETTE)],
        }
        for index, key in enumerate(series)
    ]
    rows = []
    for day in reversed(axis):
        values = [cells.get((day, key), 0) for key in series]
        if any(values):
            rows.append({"day": day, "values": values, "total": sum(values)})
    return {
        "series": [labels[key] for key in series],
        "rows": rows,
        "total": sum(count.runs for count in counts),
        "chart": {
            "type": "bar",
            "stacked": True,
            "labels": [day.isoformat() for day in axis],
            "datasets": datasets,
        },
    }
