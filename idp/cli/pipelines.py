"""`idp pipelines …`: generated GitHub Actions workflows and their runs."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .client import client
from .common import auto_columns, parse_parameters
from .output import Column, Format, LimitOption, OutputOption, show_list, show_object

app = typer.Typer(help="CI/CD pipelines for services.", no_args_is_help=True)


def _slug(value: Any) -> Any:
    return value.get("slug") if isinstance(value, dict) else value


COLUMNS: list[Column] = [
    ("ID", "id"),
    ("SLUG", "slug"),
    ("SERVICE", lambda p: _slug(p.get("service"))),
    ("TEMPLATE", "template"),
    ("ENVIRONMENTS", lambda p: ",".join(p.get("environments") or [])),
    ("DELIVERY", "delivery_state"),
    ("PR", "pr_url"),
]


@app.command("list")
def list_(
    service: Annotated[str | None, typer.Option("--service")] = None,
    team: Annotated[str | None, typer.Option("--team")] = None,
    limit: LimitOption = 100,
    output: OutputOption = Format.table,
) -> None:
    """Pipelines you can see."""
    params = {"service": service, "team": team}
    show_list(client().list("/api/v1/pipelines/", params, limit), COLUMNS, output)


@app.command("show")
def show(pipeline_id: str, output: OutputOption = Format.table) -> None:
    """One pipeline."""
    show_object(client().get(f"/api/v1/pipelines/{pipeline_id}/"), output)


@app.command("create")
def create(
    service: Annotated[str, typer.Option("--service", "-s", help="Service slug")],
    template: Annotated[str, typer.Option("--template", "-t", help="python, node, go, …")],
    env: Annotated[
        list[str] | None, typer.Option("--env", "-e", help="Environment slug (repeatable)")
    ] = None,
    option: Annotated[
        list[str] | None, typer.Option("--option", "-p", help="key=value pipeline option")
    ] = None,
    file: Annotated[list[str] | None, typer.Option("--file", "-f", help="Options JSON")] = None,
    slug: Annotated[str | None, typer.Option("--slug", help="Workflow/branch name")] = None,
    deliver: Annotated[bool, typer.Option("--deliver", help="Deliver right away")] = False,
    preview: Annotated[
        bool, typer.Option("--preview", help="Only show the YAML and the check findings")
    ] = False,
    output: OutputOption = Format.table,
) -> None:
    """Create a pipeline (or --preview its workflow without side effects)."""
    body: dict[str, Any] = {
        "service": service,
        "template": template,
        "environments": env or [],
        "options": parse_parameters(option or [], file or []),
    }
    if slug:
        body["slug"] = slug
    api = client()
    if preview:
        result = api.post("/api/v1/pipelines/preview/", body)
        if output is Format.table:
            typer.echo(result.get("yaml", ""))
            for item in result.get("findings") or []:
                where = f"line {item.get('line')}:{item.get('column')}"
                typer.echo(f"{item.get('source')} {where}: {item.get('message')}", err=True)
            return
        show_object(result, output)
        return
    if deliver:
        body["deliver"] = True
    show_object(api.post("/api/v1/pipelines/", body), output)


@app.command("deliver")
def deliver(pipeline_id: str, output: OutputOption = Format.table) -> None:
    """Deliver the workflow to the service's repository as a pull request."""
    result = client().post(f"/api/v1/pipelines/{pipeline_id}/deliver/", {})
    show_object(result or {"id": pipeline_id, "delivery": "queued"}, output)


@app.command("runs")
def runs(
    pipeline_id: str,
    limit: LimitOption = 100,
    output: OutputOption = Format.table,
) -> None:
    """The workflow runs of a pipeline, per environment."""
    items = client().list(f"/api/v1/pipelines/{pipeline_id}/runs/", None, limit)
    preferred = ["id", "environment", "state", "conclusion", "head_sha", "actor", "html_url"]
    show_list(items, auto_columns(items, preferred), output)
