"""`idp costs`, `idp budgets`, `idp alerts`: monitoring data of your teams."""

from __future__ import annotations

from typing import Annotated

import typer

from .client import client
from .common import auto_columns
from .output import Column, Format, LimitOption, OutputOption, show_list, show_object


def costs(
    team: Annotated[str | None, typer.Option("--team")] = None,
    month: Annotated[str | None, typer.Option("--month", help="YYYY-MM")] = None,
    group_by: Annotated[
        str, typer.Option("--group-by", help="day, team, service, environment or template")
    ] = "day",
    output: OutputOption = Format.table,
) -> None:
    """Costs of your teams: rows per day (or group), total, month to date and forecast."""
    summary = client().get("/api/v1/costs/", {"team": team, "month": month, "group_by": group_by})
    if output is not Format.table:
        show_object(summary, output)
        return
    fields: list[Column] = [
        ("team", lambda s: s.get("team") or "all your teams"),
        ("period", lambda s: f"{s.get('start')} … {s.get('end')}"),
        ("total", "total"),
        ("month to date", "month_to_date"),
        ("forecast", "forecast"),
    ]
    show_object(summary, output, fields)
    typer.echo("")
    show_list(
        summary.get("results") or [], [(group_by.upper(), "key"), ("AMOUNT", "amount")], output
    )


def budgets(
    team: Annotated[str | None, typer.Option("--team")] = None,
    limit: LimitOption = 100,
    output: OutputOption = Format.table,
) -> None:
    """Monthly budgets of your teams."""
    items = client().list("/api/v1/budgets/", {"team": team}, limit)
    preferred = ["id", "team", "monthly_amount", "currency", "thresholds", "aws_sync_error"]
    show_list(items, auto_columns(items, preferred), output)


def alerts(
    team: Annotated[str | None, typer.Option("--team")] = None,
    period: Annotated[str | None, typer.Option("--period", help="YYYY-MM")] = None,
    limit: LimitOption = 100,
    output: OutputOption = Format.table,
) -> None:
    """Budget alerts of your teams."""
    items = client().list("/api/v1/alerts/", {"team": team, "period": period}, limit)
    preferred = ["id", "team", "kind", "threshold", "period", "amount", "message", "created_at"]
    show_list(items, auto_columns(items, preferred), output)
