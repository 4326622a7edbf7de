"""Dashboard aggregates: the tables behind each chart, cached per team data version."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from idp.models import Team

from .models import Budget, CostRecord
from .services import analytics, costs
from .services.cache import PLATFORM, cached

# dataset name -> (column headers, row keys)
COLUMNS: dict[str, list[str]] = {
    "daily": ["date", "amount"],
    "team": ["team", "amount"],
    "service": ["service", "amount"],
    "environment": ["environment", "amount"],
    "template": ["template", "amount"],
    "burn": ["date", "spent", "budget_remaining", "ideal_remaining"],
    "requests": ["template", "count"],
    "lead_time": ["template", "p50", "p95", "count"],
}


def _window(days: int, today: date | None = None) -> tuple[date, date]:
    today = today or timezone.now().date()
    return today - timedelta(days=days - 1), today


def cost_tables(team: Team | None, days: int) -> dict[str, list[dict[str, Any]]]:
    """Cost over time and by team/service/environment/template for one team (None: all)."""
    key = team.slug if team else PLATFORM

    def compute() -> dict[str, list[dict[str, Any]]]:
        start, end = _window(days)
        qs = CostRecord.objects.filter(date__gte=start, date__lte=end)
        if team is not None:
            qs = qs.filter(team=team)
        return {
            "daily": costs.daily_costs(qs, start, end),
            "team": costs.costs_by(qs, "team"),
            "service": costs.costs_by(qs, "service"),
            "environment": costs.costs_by(qs, "environment"),
            "template": costs.costs_by_template(qs),
        }

    return cached(key, f"costs:{days}", compute)


def burn_down(team: Team, today: date | None = None) -> list[dict[str, Any]]:
    """Each day of the month: spend so far, budget left, and the even-spend line."""
    today = today or timezone.now().date()

    def compute() -> list[dict[str, Any]]:
        budget = Budget.objects.filter(team=team).first()
        if budget is None:
            return []
        first, next_first = costs.month_bounds(today)
        total_days = (next_first - first).days
        daily = {
            row["date"]: Decimal(row["amount"])
            for row in costs.daily_costs(CostRecord.objects.filter(team=team), first, today)
        }
        rows, spent = [], Decimal("0")
        for offset in range(total_days):
            day = first + timedelta(days=offset)
            ideal = budget.monthly_amount * (total_days - offset - 1) / total_days
            row: dict[str, Any] = {
                "date": day.isoformat(),
                "ideal_remaining": str(ideal.quantize(costs.CENT)),
            }
            if day <= today:
                spent += daily.get(day.isoformat(), Decimal("0"))
                row["spent"] = str(spent.quantize(costs.CENT))
                row["budget_remaining"] = str((budget.monthly_amount - spent).quantize(costs.CENT))
            else:
                row["spent"] = row["budget_remaining"] = ""
            rows.append(row)
        return rows

    return cached(team.slug, f"burn:{today.isoformat()}", compute)


def summary(team: Team) -> dict[str, Any]:
    budget = Budget.objects.filter(team=team).first()
    mtd = costs.month_to_date(team)
    forecast = costs.forecast_month(team)
    used = (
        (mtd * 100 / budget.monthly_amount).quantize(Decimal("1"))
        if budget and budget.monthly_amount
        else None
    )
    return {
        "team": team,
        "budget": budget,
        "month_to_date": mtd,
        "forecast": forecast,
        "used_percent": used,
    }


def usage(user: Any, team: Team | None, days: int) -> dict[str, Any]:
    key = team.slug if team else PLATFORM
    # Usage depends on what the user may see: platform-wide numbers only for admins.
    return cached(
        key,
        f"usage:{days}:{getattr(user, 'pk', 0)}",
        lambda: analytics.usage(user, teams=[team] if team else None, days=days),
    )


def table(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    if name == "requests":
        return [
            {"template": r["template"], "count": r["count"]} for r in data["requests_by_template"]
        ]
    if name == "lead_time":
        return data["lead_time_by_template"]
    return data[name]


def chart(
    chart_id: str,
    title: str,
    rows: list[dict[str, Any]],
    columns: list[str],
    *,
    kind: str = "line",
    csv_url: str = "",
) -> dict[str, Any]:
    """What a chart partial draws: its Chart.js data and the same numbers as a table."""
    x, *ys = columns
    data = {
        "type": kind,
        "labels": [str(r.get(x, "")) for r in rows],
        "datasets": [{"label": y, "data": [_number(r.get(y)) for r in rows]} for y in ys],
    }
    return {
        "id": chart_id,
        "title": title,
        "columns": columns,
        "rows": [[r.get(c, "") for c in columns] for r in rows],
        "data": data,
        "csv_url": csv_url,
    }


def _number(value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
