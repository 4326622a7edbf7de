"""`idp approvals …`: the plans awaiting your decision (the approvals inbox).

An item's ID is its plan run's id; approve it with
`idp resources approve RESOURCE_ID --plan ID`, so the decision lands on exactly that plan.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from . import resources
from .client import client
from .output import Column, Format, LimitOption, OutputOption, dump, show_list, show_object

app = typer.Typer(help="Plans awaiting your decision (approvals inbox).", no_args_is_help=True)


def _counts(item: dict[str, Any]) -> str:
    counts = item.get("plan_counts") or {}
    return f"+{counts.get('add', 0)} ~{counts.get('change', 0)} -{counts.get('destroy', 0)}"


def _money(value: Any) -> str:
    return "-" if value in (None, "") else f"${value}"


def _cost(item: dict[str, Any]) -> str:
    effect = _effect(item)
    text = _money(item.get("estimated_monthly_cost"))
    change = effect.get("monthly_cost_change")
    if change not in (None, "") and item.get("change") != "create":
        sign = "" if str(change).startswith("-") else "+"
        text += f" ({sign}{change})"
    if effect.get("needs_platform_admin"):
        text += " [platform admin]"
    return text


def _approvals(item: dict[str, Any]) -> str:
    approvals = item.get("approvals") or {}
    text = f"{approvals.get('given', 0)}/{approvals.get('needed', 0)}"
    if approvals.get("role") == "admin":
        text += ", one an admin"
    by = approvals.get("approved_by") or []
    return text + (f" ({', '.join(by)})" if by else "")


def _template(item: dict[str, Any]) -> str:
    text = f"{item.get('template')} {item.get('version_label') or item.get('version')}"
    current = item.get("current_version")
    if current is not None and current != item.get("version"):
        text += f" (from {item.get('current_version_label') or current})"
    return text


def _resource(item: dict[str, Any]) -> dict[str, Any]:
    return item.get("resource") or {}


def _effect(item: dict[str, Any]) -> dict[str, Any]:
    return item.get("budget_effect") or {}


COLUMNS: list[Column] = [
    ("ID", "id"),
    ("RESOURCE", lambda i: f"{_resource(i).get('id')} {_resource(i).get('name')}"),
    ("TEAM", "team"),
    ("ENV", "environment"),
    ("TEMPLATE", _template),
    ("CHANGE", lambda i: f"{i.get('change')} {_counts(i)}"),
    ("BY", "requested_by"),
    ("COST/MONTH", _cost),
    ("APPROVALS", _approvals),
    ("CLOSES", "approval_closes_at"),
]

DETAIL: list[Column] = [
    ("plan run", "id"),
    ("resource", lambda i: f"{_resource(i).get('name')} (id {_resource(i).get('id')})"),
    ("team", "team"),
    ("environment", "environment"),
    ("template", _template),
    ("change", "change"),
    ("plan", _counts),
    ("parameters changed", lambda i: ", ".join(i.get("changed_parameters") or []) or "-"),
    ("requested by", "requested_by"),
    ("cost/month", _cost),
    ("current cost/month", lambda i: _money(_effect(i).get("current_monthly_cost"))),
    ("needs", lambda i: (i.get("approvals") or {}).get("summary") or "-"),
    ("why approval", lambda i: "; ".join(_effect(i).get("reasons") or []) or "-"),
    ("approvals", _approvals),
    ("planned at", "planned_at"),
    ("window closes", "approval_closes_at"),
]


@app.command("list")
def list_(limit: LimitOption = 100, output: OutputOption = Format.table) -> None:
    """Plans awaiting your decision, riskiest first, then the approval window closing soonest."""
    show_list(client().list("/api/v1/approvals/", {}, limit), COLUMNS, output)


def _diff(run: dict[str, Any], colour: bool) -> str:
    """The plan's changes like `terraform plan` when the API sends them, else its counts."""
    render = getattr(resources, "diff_text", None)
    if "changes" in run and render is not None:
        return str(render(run, colour=colour))
    counts = run.get("plan_counts") or {}
    return (
        f"Plan: {counts.get('add', 0)} to add, {counts.get('change', 0)} to change, "
        f"{counts.get('destroy', 0)} to destroy."
    )


@app.command("show")
def show(
    plan_id: Annotated[str, typer.Argument(metavar="ID", help="The item's ID (its plan run)")],
    no_color: Annotated[bool, typer.Option("--no-color", help="No colours")] = False,
    output: OutputOption = Format.table,
) -> None:
    """One plan awaiting your decision with its changes, attribute by attribute."""
    api = client()
    item = api.get(f"/api/v1/approvals/{plan_id}/")
    run = api.get(f"/api/v1/runs/{plan_id}/")
    if output is not Format.table:
        dump(
            {**item, "changes": run.get("changes"), "output_changes": run.get("output_changes")},
            output,
        )
        return
    show_object(item, output, DETAIL)
    typer.echo("")
    # Colour only on a terminal (click strips it elsewhere), never with --no-color.
    typer.echo(_diff(run, colour=not no_color), color=None)
    resource_id = (item.get("resource") or {}).get("id")
    typer.echo(
        f"\nDecide: idp resources approve {resource_id} --plan {item.get('id')}"
        f"  |  idp resources reject {resource_id} --plan {item.get('id')} --reason …"
    )
