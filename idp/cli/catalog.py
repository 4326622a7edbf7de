"""`idp templates …` and `idp services …`: the catalog."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .client import client
from .output import Column, Format, LimitOption, OutputOption, show_list, show_object

templates = typer.Typer(help="Templates in the catalog.", no_args_is_help=True)
services = typer.Typer(help="Services: software components owned by teams.", no_args_is_help=True)


def _version(item: dict[str, Any]) -> Any:
    for key in ("current_version", "version", "latest_version"):
        value = item.get(key)
        if isinstance(value, dict):
            return value.get("number")
        if value is not None:
            return value
    return None


def _owner(item: dict[str, Any]) -> Any:
    value = item.get("owner_team", item.get("owner"))
    return value.get("slug") if isinstance(value, dict) else value


TEMPLATE_COLUMNS: list[Column] = [
    ("SLUG", "slug"),
    ("TITLE", "title"),
    ("CATEGORY", "category"),
    ("OWNER", _owner),
    ("VERSION", _version),
]


@templates.command("list")
def templates_list(
    category: Annotated[str | None, typer.Option("--category")] = None,
    search: Annotated[str | None, typer.Option("--search", "-q")] = None,
    limit: LimitOption = 100,
    output: OutputOption = Format.table,
) -> None:
    """Templates you can request."""
    params = {"category": category, "search": search}
    show_list(client().list("/api/v1/templates/", params, limit), TEMPLATE_COLUMNS, output)


def _parameters(item: dict[str, Any]) -> str:
    schema = item.get("parameters_schema") or {}
    props = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    return ", ".join(f"{k}{'*' if k in required else ''}" for k in props) or "-"


def _outputs(item: dict[str, Any]) -> str:
    outputs = item.get("outputs") or []
    names = [o.get("name", "?") if isinstance(o, dict) else str(o) for o in outputs]
    return ", ".join(names) or "-"


@templates.command("show")
def templates_show(slug: str, output: OutputOption = Format.table) -> None:
    """A template with its parameters (* = required), outputs and approval policy."""
    item = client().get(f"/api/v1/templates/{slug}/")
    fields: list[Column] = [
        ("slug", "slug"),
        ("title", "title"),
        ("description", "description"),
        ("category", "category"),
        ("owner", _owner),
        ("version", _version),
        ("parameters", _parameters),
        ("outputs", _outputs),
        ("approval policy", "approval_policy"),
        ("cost hints", "cost_hints"),
    ]
    show_object(item, output, fields)


SERVICE_COLUMNS: list[Column] = [
    ("SLUG", "slug"),
    ("NAME", "name"),
    ("TEAM", lambda s: s["team"].get("slug") if isinstance(s.get("team"), dict) else s.get("team")),
    ("LIFECYCLE", "lifecycle"),
    ("TIER", "tier"),
    ("REPOSITORY", "repository_url"),
]


@services.command("list")
def services_list(
    team: Annotated[str | None, typer.Option("--team")] = None,
    lifecycle: Annotated[str | None, typer.Option("--lifecycle")] = None,
    search: Annotated[str | None, typer.Option("--search", "-q")] = None,
    limit: LimitOption = 100,
    output: OutputOption = Format.table,
) -> None:
    """Services you can see."""
    params = {"team": team, "lifecycle": lifecycle, "search": search}
    show_list(client().list("/api/v1/services/", params, limit), SERVICE_COLUMNS, output)


@services.command("show")
def services_show(slug: str, output: OutputOption = Format.table) -> None:
    """One service."""
    show_object(client().get(f"/api/v1/services/{slug}/"), output)


@services.command("create")
def services_create(
    name: Annotated[str, typer.Option("--name", "-n")],
    team: Annotated[str, typer.Option("--team")],
    slug: Annotated[str | None, typer.Option("--slug")] = None,
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    repository: Annotated[str | None, typer.Option("--repository", "--repo")] = None,
    lifecycle: Annotated[str | None, typer.Option("--lifecycle")] = None,
    tier: Annotated[int | None, typer.Option("--tier")] = None,
    output: OutputOption = Format.table,
) -> None:
    """Register a service for a team (maintainers)."""
    body: dict[str, Any] = {"name": name, "team": team, "description": description}
    optional = {"slug": slug, "repository_url": repository, "lifecycle": lifecycle, "tier": tier}
    body.update({k: v for k, v in optional.items() if v is not None})
    show_object(client().post("/api/v1/services/", body), output)
