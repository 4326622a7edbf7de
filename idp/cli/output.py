"""Rendering answers as a rich table, JSON or YAML (`--output`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table
from rich.text import Text


class Format(StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"


OutputOption = Annotated[
    Format,
    typer.Option("--output", "-o", help="table, json or yaml", envvar="IDP_OUTPUT"),
]
LimitOption = Annotated[int, typer.Option("--limit", min=1, help="at most this many rows")]

Column = tuple[str, str | Callable[[dict[str, Any]], Any]]


def console() -> Console:
    # Created per call so CliRunner's captured stdout is used in tests.
    return Console(soft_wrap=False, width=200 if not Console().is_terminal else None)


def err_console() -> Console:
    return Console(stderr=True)


def dig(item: Any, key: str) -> Any:
    """`a.b.c` lookups into nested dicts."""
    value = item
    for part in key.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def dump(data: Any, fmt: Format) -> None:
    if fmt is Format.json:
        typer.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
    else:
        typer.echo(yaml.safe_dump(data, sort_keys=True, allow_unicode=True).rstrip("\n"))


def show_list(items: Sequence[dict[str, Any]], columns: Sequence[Column], fmt: Format) -> None:
    if fmt is not Format.table:
        dump(list(items), fmt)
        return
    table = Table(show_edge=False, header_style="bold")
    for header, _ in columns:
        table.add_column(header)
    for item in items:
        row = []
        for _, key in columns:
            row.append(cell(key(item) if callable(key) else dig(item, key)))
        # Text, not markup: a value like "[terraform_data.x]" or "[link=…]" prints as is.
        table.add_row(*(Text(value) for value in row))
    console().print(table)
    if not items:
        typer.echo("(none)", err=True)


def show_object(item: dict[str, Any], fmt: Format, fields: Sequence[Column] | None = None) -> None:
    if fmt is not Format.table:
        dump(item, fmt)
        return
    table = Table(show_header=False, show_edge=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for label, key in fields or [(k, k) for k in item]:
        value = key(item) if callable(key) else dig(item, key)
        table.add_row(Text(label), Text(cell(value)))
    console().print(table)
