"""`idp templates …`, `idp services …` and `idp catalog …`: the catalog."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

import httpx
import typer

from .client import SERVER, USAGE, client, error_message, exit_code_for, fail
from .output import Column, Format, LimitOption, OutputOption, dump, show_list, show_object

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


catalog_app = typer.Typer(
    help="Catalog entities in Backstage's format (catalog-info.yaml).", no_args_is_help=True
)


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:  # noqa: PTH123 - a user-given path
            return handle.read()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}", USAGE)
    except UnicodeDecodeError:
        fail(f"{path} is not UTF-8 text", USAGE)


@catalog_app.command("import")
def catalog_import(
    file: Annotated[str, typer.Argument(help="A catalog-info.yaml (one or more documents)")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show what would happen")] = False,
    output: OutputOption = Format.table,
) -> None:
    """Import entities; prints one line per entity (created/changed/unchanged) or error."""
    content = _read_text(file)
    api = client()
    try:
        response = api.http.post(
            "/api/v1/catalog/import/", json={"content": content, "dry_run": dry_run}
        )
    except httpx.HTTPError as exc:
        fail(f"cannot reach {api.base}: {exc.__class__.__name__}: {exc}", SERVER)
    body: Any = None
    with contextlib.suppress(ValueError):
        body = response.json()
    report = body.get("report") if isinstance(body, dict) and "report" in body else body
    if response.status_code not in (200, 201, 400, 403) or not isinstance(report, dict):
        fail(
            f"POST /api/v1/catalog/import/: {response.status_code}: {error_message(response)}",
            exit_code_for(response.status_code),
        )
    if output is not Format.table:
        dump(report, output)
    else:
        words = {"create": "created", "change": "changed", "unchanged": "unchanged"}
        if dry_run:
            words = {"create": "would create", "change": "would change", "unchanged": "unchanged"}
        if response.status_code < 400:
            for item in report.get("items", []):
                typer.echo(f"{words[item['action']]} {item['ref']}")
            for problem in report.get("problems", []):
                typer.echo(f"problem {problem['entity']}: {problem['message']}")
    if response.status_code >= 400:
        for error in report.get("errors", []) + report.get("refused", []):
            where = f"document {error['document']}" + (
                f" ({error['ref']})" if error.get("ref") else ""
            )
            field = f", {error['field']}" if error.get("field") else ""
            typer.echo(f"error: {where}{field}: {error['message']}", err=True)
        raise typer.Exit(exit_code_for(response.status_code))


def _entity_owner(item: dict[str, Any]) -> Any:
    return (item.get("spec") or {}).get("owner")


ENTITY_COLUMNS: list[Column] = [
    ("REF", lambda e: f"{e['kind'].lower()}:{e['metadata']['namespace']}/{e['metadata']['name']}"),
    ("TITLE", "metadata.title"),
    ("TYPE", "spec.type"),
    ("LIFECYCLE", "spec.lifecycle"),
    ("OWNER", _entity_owner),
]


@catalog_app.command("entities")
def catalog_entities(
    kind: Annotated[str | None, typer.Option("--kind", help="Component, API, System, …")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="e.g. payments")] = None,
    tag: Annotated[str | None, typer.Option("--tag")] = None,
    lifecycle: Annotated[str | None, typer.Option("--lifecycle")] = None,
    limit: LimitOption = 100,
    output: OutputOption = Format.table,
) -> None:
    """Entities of the catalog you can see (Backstage's format with -o json/yaml)."""
    params = {"kind": kind, "owner": owner, "tag": tag, "lifecycle": lifecycle}
    show_list(client().list("/api/v1/catalog/entities", params, limit), ENTITY_COLUMNS, output)
