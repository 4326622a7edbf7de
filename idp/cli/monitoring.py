"""`idp costs`, `idp budgets`, `idp alerts`: monitoring data of your teams."""

from __future__ import annotations

from typing import Annotated

import typer

from .client import client
from .common import auto_columns
from .output import Format, OutputOption, show_list


def costs(
    team: Annotated[str | None, typer.Option("--team")] = None,
    month: Annotated[str | None, typer.Option("--month", help="YYYY-MM")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 100,
    output: OutputOption = Format.table,
) -> None:
    """Costs of your teams (month to date and forecast)."""
    items = client().list("/api/v1/costs/", {"team": team, "month": month}, limit)
    preferred = [
        "team",
        "service",
        "environment",
        "template",
        "month",
        "date",
        "amount",
        "forecast",
        "currency",
    ]
    show_list(items, auto_columns(items, preferred) if items else [], output)


def budgets(
    team: Annotated[str | None, typer.Option("--team")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 100,
    output: OutputOption = Format.table,
) -> None:
    """Monthly budgets of your teams."""
    items = client().list("/api/v1/budgets/", {"team": team}, limit)
    preferred = ["id", "team", "amount", "currency", "thresholds", "spent", "forecast"]
    show_list(items, auto_columns(items, preferred) if items else [], output)


def alerts(
    team: Annotated[str | None, typer.Option("--team")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 100,
    output: OutputOption = Format.table,
) -> None:
    """Budget and resource alerts of your teams."""
    items = client().list("/api/v1/alerts/", {"team": team}, limit)
    preferred = ["id", "team", "kind", "threshold", "period", "message", "created_at"]
    show_list(items, auto_columns(items, preferred) if items else [], output)
