"""`idp templates …`, `idp services …` and `idp catalog …`: the catalog."""

from __future__ import annotations

import contextlib
import json
from typing import Annotated, Any

import httpx
import typer

from .client import SERVER, USAGE, client, error_message, exit_code_for, fail
from .output import Column, Format, LimitOption, OutputOption, dump, show_list, show_object

templates = typer.Typer(help="Templates in the catalog.", no_args_is_help=True)
services = typer.Typer(help="Services: software components owned by teams.", no_args_is_help=True)


def _version(item: dict[str, Any]) -> Any:
    """The version's name (`version_label`: `1.1.0`, `v3`), else its number."""
    if item.get("version_label"):
        return item["version_label"]
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


def _outputs(item: dict[str, Any]) -> str:
    outputs = item.get("outputs") or []
    names = [o.get("name", "?") if isinstance(o, dict) else str(o) for o in outputs]
    return ", ".join(names) or "-"


SENSITIVE_MASK = "********"


def _type(prop: dict[str, Any]) -> str:
    """`string`, `integer or null`, `list of string`, `map of string`."""
    kinds = prop.get("type")
    names = [str(k) for k in (kinds if isinstance(kinds, list) else [kinds]) if k]
    words = []
    for kind in names or ["any"]:
        if kind == "array" and isinstance(prop.get("items"), dict):
            words.append(f"list of {_type(prop['items'])}")
        elif kind == "object" and isinstance(prop.get("additionalProperties"), dict):
            words.append(f"map of {_type(prop['additionalProperties'])}")
        else:
            words.append({"array": "list"}.get(kind, kind))
    return " or ".join(words)


def _allowed(prop: dict[str, Any]) -> str:
    """What values the schema accepts beyond the type: enum, range, length, pattern."""
    rules = []
    if isinstance(prop.get("enum"), list):
        rules.append("one of " + ", ".join(json.dumps(v) for v in prop["enum"]))
    low, high = prop.get("minimum"), prop.get("maximum")
    if low is not None and high is not None:
        rules.append(f"{low}..{high}")
    elif low is not None:
        rules.append(f">= {low}")
    elif high is not None:
        rules.append(f"<= {high}")
    for key, word in (("minLength", "length >="), ("maxLength", "length <=")):
        if prop.get(key) is not None:
            rules.append(f"{word} {prop[key]}")
    for key, word in (("minItems", "items >="), ("maxItems", "items <=")):
        if prop.get(key) is not None:
            rules.append(f"{word} {prop[key]}")
    if prop.get("maxProperties") is not None:
        rules.append(f"at most {prop['maxProperties']} keys")
    if prop.get("pattern"):
        rules.append(f"matches {prop['pattern']}")
    ref = prop.get("x-idp-resource-ref")
    if isinstance(ref, dict):
        rules.append(f"or an output: {ref.get('template')}.{ref.get('output')}")
    return "; ".join(rules)


def parameter_rows(schema: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row per parameter of a JSON Schema, in the template's order."""
    props = (schema or {}).get("properties") or {}
    required = set((schema or {}).get("required") or [])
    ordered = sorted(
        props.items(), key=lambda kv: (kv[1].get("x-order", 10_000), list(props).index(kv[0]))
    )
    rows = []
    for name, prop in ordered:
        sensitive = prop.get("x-sensitive") is True
        if "default" not in prop:
            default = "(required)" if name in required else "-"
        elif sensitive and prop["default"] not in (None, ""):
            default = SENSITIVE_MASK  # a secret's default is never printed
        else:
            default = json.dumps(prop["default"])
        rows.append(
            {
                "name": name,
                "type": _type(prop),
                "default": default,
                "allowed": _allowed(prop) or "-",
                "sensitive": "yes" if sensitive else "",
                "description": prop.get("description") or prop.get("title") or "",
            }
        )
    return rows


PARAMETER_COLUMNS: list[Column] = [
    ("PARAMETER", "name"),
    ("TYPE", "type"),
    ("DEFAULT", "default"),
    ("ALLOWED", "allowed"),
    ("SENSITIVE", "sensitive"),
    ("DESCRIPTION", "description"),
]


@templates.command("show")
def templates_show(slug: str, output: OutputOption = Format.table) -> None:
    """A template with its parameters (type, default, allowed values, which are sensitive),
    outputs and approval policy. Parameters without a default are required."""
    item = client().get(f"/api/v1/templates/{slug}/")
    fields: list[Column] = [
        ("slug", "slug"),
        ("title", "title"),
        ("description", "description"),
        ("category", "category"),
        ("owner", _owner),
        ("version", _version),
        ("outputs", _outputs),
        ("approval policy", "approval_policy"),
        ("cost hints", "cost_hints"),
    ]
    show_object(item, output, fields)
    if output is Format.table:
        typer.echo("")
        show_list(parameter_rows(item.get("parameters_schema")), PARAMETER_COLUMNS, output)


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
            f"{error_message(response)} ({response.status_code} on POST /api/v1/catalog/import/)",
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
