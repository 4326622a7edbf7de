"""`idp resources …`: request, inspect, approve and destroy resources; follow run logs."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from .client import FAILED, Client, client, fail
from .common import (
    RESOURCE_BUSY,
    finish,
    parse_parameters,
    poll_interval,
    wait_for_resource,
)
from .output import Column, Format, LimitOption, OutputOption, show_list, show_object

app = typer.Typer(help="Resources: template instances in an environment.", no_args_is_help=True)

COLUMNS: list[Column] = [
    ("ID", "id"),
    ("NAME", "name"),
    ("TEAM", lambda r: _slug(r.get("team"))),
    ("ENV", lambda r: _slug(r.get("environment"))),
    ("TEMPLATE", lambda r: _slug(r.get("template"))),
    ("STATUS", "status"),
    ("CREATED", "created_at"),
]
AFTER_PLAN = {"awaiting_approval", "provisioned", "failed", "rejected", "destroyed"}
AFTER_APPROVE = {"provisioned", "failed", "destroyed", "rejected"}
AFTER_DESTROY = {"destroyed", "awaiting_approval", "failed"}

WaitOption = Annotated[bool, typer.Option("--wait", help="Show progress until it settles")]
PlanOption = Annotated[
    int | None,
    typer.Option("--plan", help="The plan run you reviewed; refused if another plan awaits now"),
]


def _decision(reason: str, plan: int | None) -> dict[str, Any]:
    return {"reason": reason, **({"plan_run": plan} if plan is not None else {})}


TimeoutOption = Annotated[float, typer.Option("--timeout", help="Seconds to --wait at most")]


def _slug(value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("slug") or value.get("name") or value.get("id")
    return value


def _kv(values: Any) -> str:
    if not isinstance(values, dict) or not values:
        return "-"
    return ", ".join(f"{k}={v}" for k, v in values.items())


def _run(run: Any) -> str:
    if not isinstance(run, dict):
        return "-"
    counts = run.get("plan_counts") or {}
    plan = " ".join(f"{k}:{counts[k]}" for k in ("add", "change", "destroy") if k in counts)
    return f"#{run.get('id')} {run.get('kind')} {run.get('status')}" + (
        f" ({plan})" if plan else ""
    )


DETAIL: list[Column] = [
    ("id", "id"),
    ("name", "name"),
    ("team", "team"),
    ("service", "service"),
    ("environment", "environment"),
    ("template", lambda r: f"{_slug(r.get('template'))}@{r.get('version')}"),
    ("status", "status"),
    ("requested by", "requested_by"),
    ("parameters", lambda r: _kv(r.get("parameters"))),
    ("proposed", lambda r: _proposed(r.get("proposed"))),
    ("approvals", lambda r: _approvals(r.get("proposed"))),
    ("outputs", lambda r: _kv(r.get("outputs"))),
    ("current run", lambda r: _run(r.get("current_run"))),
    ("latest plan", lambda r: _run(r.get("latest_plan"))),
    ("you may", lambda r: ", ".join(r.get("allowed_actions") or []) or "-"),
    ("drifted", "drifted"),
    ("break-glass used", "break_glass_used"),
    ("last error", "last_error"),
]


def _proposed(proposal: Any) -> str:
    """The pending change beside what is current: version, what changes, the values."""
    if not proposal:
        return "-"
    what = "destroy" if proposal.get("destroy") else f"v{proposal.get('version')}"
    changed = ", ".join(proposal.get("changed") or []) or "nothing"
    by = ", ".join(proposal.get("proposed_by") or []) or "the platform"
    return f"{what} by {by}; changes {changed}: {_kv(proposal.get('parameters'))}"


def _approvals(proposal: Any) -> str:
    approval = (proposal or {}).get("approval") or {}
    if not approval.get("needed"):
        return "-"
    given = approval.get("approved_by") or []
    text = f"{len(given)} of {approval.get('approvals')}"
    if approval.get("platform_admin"):
        text += " (one from a platform admin)"
    return text + (f": {', '.join(given)}" if given else "")


def _show(fmt: Format) -> Any:
    def show(resource: dict[str, Any]) -> None:
        show_object(resource, fmt, DETAIL)

    return show


def _path(resource_id: str) -> str:
    return f"/api/v1/resources/{resource_id}/"


def _act(
    resource_id: str,
    action: str,
    body: Any,
    fmt: Format,
    wait: bool,
    timeout: float,
    until: set[str],
) -> None:
    api = client()
    api.post(f"{_path(resource_id)}{action}/", body)
    if wait:
        resource = wait_for_resource(api, resource_id, until, timeout)
    else:
        resource = api.get(_path(resource_id))
    finish(resource, _show(fmt))


@app.command("create")
def create(
    template: Annotated[str, typer.Option("--template", "-t", help="Template slug")],
    team: Annotated[str, typer.Option("--team", help="Team slug")],
    env: Annotated[str, typer.Option("--env", "-e", help="Environment slug")],
    name: Annotated[str, typer.Option("--name", "-n", help="Resource name")],
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="key=value (JSON values parsed)")
    ] = None,
    file: Annotated[
        list[str] | None, typer.Option("--file", "-f", help="A JSON file of parameters")
    ] = None,
    service: Annotated[str | None, typer.Option("--service", "-s", help="Service slug")] = None,
    version: Annotated[int | None, typer.Option("--version", help="Template version")] = None,
    idempotency_key: Annotated[
        str | None, typer.Option("--idempotency-key", help="Repeat-safe request key")
    ] = None,
    wait: WaitOption = False,
    timeout: TimeoutOption = 1800,
    output: OutputOption = Format.table,
) -> None:
    """Request a resource; a plan run is queued."""
    body: dict[str, Any] = {
        "template": template,
        "team": team,
        "environment": env,
        "name": name,
        "parameters": parse_parameters(param or [], file or []),
    }
    if service:
        body["service"] = service
    if version is not None:
        body["version"] = version
    api = client()
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
    resource = api.post("/api/v1/resources/", body, headers=headers)
    if wait:
        resource = wait_for_resource(api, resource["id"], AFTER_PLAN, timeout)
    finish(resource, _show(output))


@app.command("list")
def list_(
    team: Annotated[str | None, typer.Option("--team")] = None,
    env: Annotated[str | None, typer.Option("--env", "-e")] = None,
    status: Annotated[str | None, typer.Option("--status")] = None,
    service: Annotated[str | None, typer.Option("--service")] = None,
    template: Annotated[str | None, typer.Option("--template")] = None,
    limit: LimitOption = 100,
    output: OutputOption = Format.table,
) -> None:
    """Resources you can see."""
    params = {
        "team": team,
        "environment": env,
        "status": status,
        "service": service,
        "template": template,
    }
    show_list(client().list("/api/v1/resources/", params, limit), COLUMNS, output)


@app.command("show")
def show(resource_id: str, output: OutputOption = Format.table) -> None:
    """One resource with its status, outputs and runs."""
    _show(output)(client().get(_path(resource_id)))


@app.command("plan")
def plan(
    resource_id: str,
    wait: WaitOption = False,
    timeout: TimeoutOption = 1800,
    output: OutputOption = Format.table,
) -> None:
    """Re-plan a resource."""
    _act(resource_id, "plan", {}, output, wait, timeout, AFTER_PLAN)


@app.command("approve")
def approve(
    resource_id: str,
    reason: Annotated[str, typer.Option("--reason", "-r", help="A note for the record")] = "",
    plan: PlanOption = None,
    wait: WaitOption = False,
    timeout: TimeoutOption = 1800,
    output: OutputOption = Format.table,
) -> None:
    """Approve the plan awaiting approval (never one you changed). When the environment
    needs more approvals, the plan keeps waiting and the approvals so far are shown."""
    api = client()
    api.post(f"{_path(resource_id)}approve/", _decision(reason, plan))
    resource = api.get(_path(resource_id))
    if wait and resource.get("status") != "awaiting_approval":
        resource = wait_for_resource(api, resource_id, AFTER_APPROVE, timeout)
    finish(resource, _show(output))


@app.command("break-glass")
def break_glass(
    resource_id: str,
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why this cannot wait (required)")],
    plan: PlanOption = None,
    wait: WaitOption = False,
    timeout: TimeoutOption = 1800,
    output: OutputOption = Format.table,
) -> None:
    """Platform admins: approve the pending plan alone, past the four-eyes rule (audited,
    and marked on the resource)."""
    body = _decision(reason, plan)
    _act(resource_id, "break-glass", body, output, wait, timeout, AFTER_APPROVE)


@app.command("withdraw")
def withdraw(resource_id: str, output: OutputOption = Format.table) -> None:
    """Withdraw the proposed change awaiting approval (it is discarded)."""
    _act(resource_id, "withdraw", {}, output, False, 0, set())


@app.command("reject")
def reject(
    resource_id: str,
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (required)")],
    plan: PlanOption = None,
    output: OutputOption = Format.table,
) -> None:
    """Reject the plan awaiting approval."""
    _act(resource_id, "reject", _decision(reason, plan), output, False, 0, set())


@app.command("retry")
def retry(
    resource_id: str,
    wait: WaitOption = False,
    timeout: TimeoutOption = 1800,
    output: OutputOption = Format.table,
) -> None:
    """Retry the failed run."""
    _act(resource_id, "retry", {}, output, wait, timeout, AFTER_PLAN)


@app.command("destroy")
def destroy(
    resource_id: str,
    wait: WaitOption = False,
    timeout: TimeoutOption = 1800,
    output: OutputOption = Format.table,
) -> None:
    """Request the destroy of a resource (planned, approved like any change)."""
    api = client()
    api.delete(_path(resource_id))
    if wait:
        resource = wait_for_resource(api, resource_id, AFTER_DESTROY, timeout)
    else:
        resource = api.get(_path(resource_id))
    finish(resource, _show(output))


def newest_run_id(api: Client, resource_id: str) -> Any:
    """The resource's active run, else its newest run (None when it has none)."""
    resource = api.get(_path(resource_id))
    current = resource.get("current_run")
    if isinstance(current, dict) and current.get("id") is not None:
        return current["id"]
    runs = api.get("/api/v1/runs/", {"resource": resource_id, "page_size": 1})
    items = runs.get("results", []) if isinstance(runs, dict) else runs
    return items[0]["id"] if items else None


def _log_page(api: Client, run_id: Any, offset: int) -> tuple[str, int, bool]:
    """(new text, next offset, complete) from `GET /api/v1/runs/{id}/log/?offset=N`."""
    body = api.get(f"/api/v1/runs/{run_id}/log/", {"offset": offset})
    text = str(body.get("text") or "")
    return text, int(body.get("next_offset", offset + len(text))), bool(body.get("complete"))


@app.command("logs")
def logs(
    resource_id: str,
    follow: Annotated[bool, typer.Option("--follow", "-F", help="Stream as it grows")] = False,
    run: Annotated[str | None, typer.Option("--run", help="A run id (default: newest)")] = None,
) -> None:
    """Print the current run's log; with --follow, stream it (and the runs that follow it)."""
    api = client()
    run_id = run or newest_run_id(api, resource_id)
    if run_id is None:
        fail(f"resource {resource_id} has no runs yet", FAILED)
    offset, last_char = 0, "\n"
    seen_runs = {str(run_id)}
    while True:
        text, offset, complete = _log_page(api, run_id, offset)
        if text:
            typer.echo(text, nl=False)
            last_char = text[-1]
            continue  # read on until caught up
        if not follow:
            break
        if not complete:
            time.sleep(poll_interval())
            continue
        if run is None:
            newer = newest_run_id(api, resource_id)
            if newer is not None and str(newer) not in seen_runs:
                # Plan then apply: follow the run the platform started next.
                if last_char != "\n":
                    typer.echo("")
                run_id, offset, last_char = newer, 0, "\n"
                seen_runs.add(str(newer))
                typer.echo(f"--- run {run_id} ---")
                continue
            if api.get(_path(resource_id)).get("status") in RESOURCE_BUSY:
                time.sleep(poll_interval())
                continue
        break
    if last_char != "\n":
        typer.echo("")
    if follow and api.get(f"/api/v1/runs/{run_id}/").get("status") == "failed":
        fail(f"run {run_id} failed", FAILED)
