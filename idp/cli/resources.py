"""`idp resources …`: request, inspect, approve and destroy resources; follow run logs."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from .client import FAILED, USAGE, Client, client, fail
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
    ("VERSION", lambda r: r.get("version_label") or r.get("version")),
    ("STATUS", "status"),
    ("CREATED", "created_at"),
]
AFTER_PLAN = {
    "awaiting_approval",
    "policy_failed",
    "provisioned",
    "failed",
    "rejected",
    "destroyed",
}
AFTER_APPROVE = {"provisioned", "failed", "destroyed", "rejected"}
AFTER_DESTROY = {"destroyed", "awaiting_approval", "policy_failed", "failed"}

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
    # Values the way users write them: strings as they are, the rest as JSON (never a repr).
    return ", ".join(
        f"{k}={v if isinstance(v, str) else json.dumps(v, sort_keys=True)}"
        for k, v in values.items()
    )


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
    (
        "template",
        lambda r: f"{_slug(r.get('template'))} {r.get('version_label') or r.get('version')}",
    ),
    ("status", "status"),
    ("requested by", "requested_by"),
    ("parameters", lambda r: _kv(r.get("parameters"))),
    ("proposed", lambda r: _proposed(r.get("proposed"))),
    ("approvals", lambda r: _approvals(r.get("proposed"))),
    ("outputs", lambda r: _kv(r.get("outputs"))),
    ("current run", lambda r: _run(r.get("current_run"))),
    ("latest plan", lambda r: _run(r.get("latest_plan"))),
    ("policies", lambda r: policy_line(r.get("policy"))),
    ("you may", lambda r: ", ".join(r.get("allowed_actions") or []) or "-"),
    ("drifted", "drifted"),
    ("drift", lambda r: drift_line(r.get("drift_details"))),
    ("break-glass used", "break_glass_used"),
    ("access", lambda r: access_line(r.get("access"))),
    ("last error", "last_error"),
]


def access_line(access: Any) -> str:
    """Resource-level permissions in one line (who beyond the team's roles, which teams)."""
    if not isinstance(access, dict):
        return "-"
    parts = []
    restricted = access.get("restricted_to")
    if isinstance(restricted, dict):
        who = [f"{restricted['role']}s and above"] if restricted.get("role") else []
        who += list(restricted.get("users") or [])
        parts.append(f"restricted to {', '.join(who)}")
    shares = access.get("shared_with") or []
    if shares:
        parts.append("shared with " + ", ".join(f"{s['team']} ({s['level']})" for s in shares))
    return "; ".join(parts) or "the team's roles"


def policy_line(policy: Any) -> str:
    """The latest plan's policy results in one line, failures and warnings spelled out."""
    if not isinstance(policy, dict):
        return "-"
    head = f"{policy.get('passed', 0)} passed, {policy.get('warnings', 0)} warnings, "
    head += f"{policy.get('failures', 0)} failures"
    if policy.get("override"):
        head += (
            f" (overridden by {policy['override'].get('by')}: {policy['override'].get('reason')})"
        )
    elif policy.get("blocking"):
        head += " - BLOCKED" + (
            " (a platform admin may override)" if policy.get("overridable") else ""
        )
    notes = [
        f"{r.get('level')}: {r.get('policy')}"
        + (f" [{r['address']}]" if r.get("address") else "")
        + f" {r.get('message')}"
        for r in policy.get("results") or []
        if r.get("level") != "passed"
    ]
    return "; ".join([head, *notes])


def _version_label(item: dict[str, Any]) -> Any:
    """The version's name as the API gives it (`1.1.0`, `v3`)."""
    return item.get("version_label") or item.get("version")


def _proposed(proposal: Any) -> str:
    """The pending change beside what is current: version, what changes, the values."""
    if not proposal:
        return "-"
    what = "destroy" if proposal.get("destroy") else str(_version_label(proposal))
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
    version: Annotated[
        str | None, typer.Option("--version", help="Template version: number or tag (v1.1.0)")
    ] = None,
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
    if resource.get("version_status") == "deprecated":
        typer.echo(
            f"warning: version {resource.get('version_label')} of {template} is deprecated; "
            "plan an upgrade (idp templates show " + template + ")",
            err=True,
        )
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
    archived: Annotated[
        bool, typer.Option("--archived", help="Only archived resources (hidden otherwise)")
    ] = False,
    limit: LimitOption = 100,
    output: OutputOption = Format.table,
) -> None:
    """Resources you can see (archived ones only with --archived)."""
    params = {
        "team": team,
        "environment": env,
        "status": status,
        "service": service,
        "template": template,
        "archived": "true" if archived else None,
    }
    show_list(client().list("/api/v1/resources/", params, limit), COLUMNS, output)


MASKED = "********"


@app.command("change")
def change(
    resource_id: str,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="key=value (JSON values parsed)")
    ] = None,
    file: Annotated[
        list[str] | None, typer.Option("--file", "-f", help="A JSON file of parameters")
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Send only these parameters (no merge)")
    ] = False,
    wait: WaitOption = False,
    timeout: TimeoutOption = 1800,
    output: OutputOption = Format.table,
) -> None:
    """Change parameters: a new plan under the same approval rules. The values given are
    merged onto the pending (or current) ones; sensitive values are never shown, so give
    them again or they take the template's default."""
    api = client()
    given = parse_parameters(param or [], file or [])
    base: dict[str, Any] = {}
    if not replace:
        resource = api.get(_path(resource_id))
        start = (resource.get("proposed") or {}).get("parameters") or resource.get("parameters")
        base = {k: v for k, v in (start or {}).items() if v != MASKED}
    api.patch(_path(resource_id), {"parameters": {**base, **given}})
    if wait:
        finish(wait_for_resource(api, resource_id, AFTER_PLAN, timeout), _show(output))
    else:
        finish(api.get(_path(resource_id)), _show(output))


@app.command("show")
def show(resource_id: str, output: OutputOption = Format.table) -> None:
    """One resource with its status, outputs and runs."""
    _show(output)(client().get(_path(resource_id)))


# `idp resources diff`: a plan's changes the way `terraform plan` prints them.
DIFF_MARKS = {"create": "+", "update": "~", "delete": "-", "replace": "-/+"}
DIFF_COLOURS = {"+": "green", "~": "yellow", "-": "red", "-/+": "red"}
KNOWN_AFTER_APPLY = "(known after apply)"
SENSITIVE = "(sensitive)"


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _diff_line(mark: str, text: str, colour: bool, indent: str = "") -> str:
    shown = typer.style(mark, fg=DIFF_COLOURS.get(mark), bold=True) if colour else mark
    return f"{indent}{shown} {text}"


def _leaves_by_attribute(change: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for leaf in change.get("leaves") or []:
        if isinstance(leaf, dict):
            found.setdefault(str(leaf.get("attribute")), []).append(leaf)
    return found


def _leaf_text(leaf: dict[str, Any]) -> str:
    """`input.color: null -> "yellow"`; a secret reads `(sensitive)`, never its mask."""

    def side(value: Any) -> str:
        if value is None:
            return "null"
        return SENSITIVE if leaf.get("sensitive") else _value(value)

    new = KNOWN_AFTER_APPLY if leaf.get("unknown") else side(leaf.get("after"))
    return f"{leaf.get('path')}: {side(leaf.get('before'))} -> {new}"


def _attribute_lines(change: dict[str, Any], show_all: bool, colour: bool) -> list[str]:
    before, after = change.get("before") or {}, change.get("after") or {}
    unknown, action = set(change.get("after_unknown") or []), change.get("action")
    changed, leaves = set(change.get("changed") or []), _leaves_by_attribute(change)
    forcing = {path.split(".")[0].split("[")[0] for path in change.get("replace_paths") or []}
    lines, hidden = [], 0
    for name in sorted(set(before) | set(after) | (unknown & changed)):
        new = KNOWN_AFTER_APPLY if name in unknown else _value(after.get(name))
        note = "  # forces replacement" if name in forcing else ""
        if name not in changed:
            hidden += 1
            if show_all:
                lines.append(f"      {name}: {_value(before.get(name, after.get(name)))}")
        elif action == "create" or (name not in before and name in after):
            lines.append(_diff_line("+", f"{name}: {new}{note}", colour, "    "))
        elif action == "delete":
            lines.append(_diff_line("-", f"{name}: {_value(before.get(name))}", colour, "    "))
        elif any(leaf.get("path") != name for leaf in leaves.get(name, [])):
            # An object's or a list's change, leaf by leaf: `input.color: null -> "yellow"`.
            for leaf in leaves[name]:
                forces = "  # forces replacement" if leaf.get("forces_replacement") else ""
                lines.append(_diff_line("~", f"{_leaf_text(leaf)}{forces}", colour, "    "))
        else:
            text = f"{name}: {_value(before.get(name))} -> {new}{note}"
            lines.append(_diff_line("~", text, colour, "    "))
    if hidden and not show_all:
        lines.append(f"      ({hidden} unchanged attributes hidden; --all shows them)")
    return lines


def diff_text(run: dict[str, Any], *, show_all: bool = False, colour: bool = False) -> str:
    """A plan run (`GET /api/v1/runs/{id}/`) as text: resources, attributes, outputs."""
    lines = []
    for change in run.get("changes") or []:
        mark = DIFF_MARKS.get(str(change.get("action")), "?")
        lines.append(_diff_line(mark, f"{change.get('address')} ({change.get('action')})", colour))
        lines += _attribute_lines(change, show_all, colour)
        lines.append("")
    outputs = run.get("output_changes") or []
    if outputs:
        lines.append("Changes to outputs:")
    for output in outputs:
        mark = DIFF_MARKS.get(str(output.get("action")), "?")
        new = KNOWN_AFTER_APPLY if output.get("after_unknown") else _value(output.get("after"))
        if output.get("action") == "create":
            text = f"{output.get('name')}: {new}"
        elif output.get("action") == "delete":
            text = f"{output.get('name')}: {_value(output.get('before'))}"
        else:
            text = f"{output.get('name')}: {_value(output.get('before'))} -> {new}"
        lines.append(_diff_line(mark, text, colour, "  "))
    counts = run.get("plan_counts") or {}
    if not lines:
        lines.append("No changes recorded for this plan.")
    elif outputs:
        lines.append("")
    lines.append(
        f"Plan: {counts.get('add', 0)} to add, {counts.get('change', 0)} to change, "
        f"{counts.get('destroy', 0)} to destroy."
    )
    return "\n".join(lines)


@app.command("diff")
def diff(
    resource_id: str,
    run: Annotated[
        str | None, typer.Option("--run", help="A plan run id (default: latest)")
    ] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Show unchanged attributes too")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The changes as JSON")] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="No colours")] = False,
) -> None:
    """The latest plan's changes, attribute by attribute, like `terraform plan`
    (sensitive values masked)."""
    api = client()
    if run is None:
        latest = api.get(_path(resource_id)).get("latest_plan")
        if not isinstance(latest, dict) or latest.get("id") is None:
            fail(f"resource {resource_id} has no plan yet", FAILED)
        run = str(latest["id"])
    body = api.get(f"/api/v1/runs/{run}/")
    if str(body.get("resource")) != str(resource_id):
        fail(f"run {run} is not a plan of resource {resource_id}", FAILED)
    if as_json:
        keys = ("id", "status", "is_destroy", "plan_counts", "changes", "output_changes", "policy")
        typer.echo(json.dumps({k: body.get(k) for k in keys}, indent=2, sort_keys=True))
        return
    typer.echo(f"Plan run #{body.get('id')} ({body.get('status')}) of resource {resource_id}\n")
    # Colour only on a terminal (click strips it elsewhere), never with --no-color.
    typer.echo(diff_text(body, show_all=show_all, colour=not no_color), color=None)
    if body.get("policy"):
        typer.echo("\nPolicies: " + policy_line(body["policy"]).replace("; ", "\n  "))


@app.command("plan")
def plan(
    resource_id: str,
    wait: WaitOption = False,
    timeout: TimeoutOption = 1800,
    output: OutputOption = Format.table,
) -> None:
    """Re-plan a resource."""
    _act(resource_id, "plan", {}, output, wait, timeout, AFTER_PLAN)


def drift_line(details: Any) -> str:
    """A drift check's findings, expected -> actual (sensitive values come masked)."""
    if not isinstance(details, dict) or not details:
        return "-"
    rows = details.get("changes") or []
    if not rows:
        names = [str(r.get("address")) for r in details.get("resources") or []]
        names += [f"output.{name}" for name in details.get("outputs") or []]
        return ", ".join(names) or "-"
    return "; ".join(
        f"{r.get('address')}{' ' + str(r.get('attribute')) if r.get('attribute') else ''}: "
        f"{_value(r.get('expected'))} -> {_value(r.get('actual'))}"
        for r in rows
    )


@app.command("reconcile")
def reconcile(
    resource_id: str,
    wait: WaitOption = False,
    timeout: TimeoutOption = 1800,
    output: OutputOption = Format.table,
) -> None:
    """Bring a drifted resource back to its declared configuration: a plan, applied after
    approval where the environment needs it (you count as its author: someone else approves)."""
    _act(resource_id, "reconcile", {}, output, wait, timeout, AFTER_PLAN)


@app.command("accept-drift")
def accept_drift(
    resource_id: str,
    wait: WaitOption = False,
    timeout: TimeoutOption = 1800,
    output: OutputOption = Format.table,
) -> None:
    """Accept a drifted resource's real values as intended: a refresh-only plan, applied
    after approval where the environment needs it (audited)."""
    _act(resource_id, "accept-drift", {}, output, wait, timeout, AFTER_PLAN)


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


@app.command("override-policy")
def override_policy(
    resource_id: str,
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why it may pass (required)")],
    plan: PlanOption = None,
    output: OutputOption = Format.table,
) -> None:
    """Platform admins: let a plan past the mandatory-overridable policies it fails
    (audited, shown with the plan); it then needs its approvals as usual."""
    _act(resource_id, "override-policy", _decision(reason, plan), output, False, 0, set())


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


@app.command("archive")
def archive(resource_id: str, output: OutputOption = Format.table) -> None:
    """Archive a failed or rejected request: hidden from `list`, kept by id and in audit."""
    # Archiving a failed request succeeded: show it without `finish`'s exit 1 for "failed".
    _show(output)(client().post(f"{_path(resource_id)}archive/", {}))


@app.command("unarchive")
def unarchive(resource_id: str, output: OutputOption = Format.table) -> None:
    """Bring an archived resource back into `list`."""
    _show(output)(client().post(f"{_path(resource_id)}unarchive/", {}))


def newest_run_id(api: Client, resource_id: str) -> Any:
    """The resource's active run, else its newest run (None when it has none)."""
    resource = api.get(_path(resource_id))
    current = resource.get("current_run")
    if isinstance(current, dict) and current.get("id") is not None:
        return current["id"]
    runs = api.get("/api/v1/runs/", {"resource": resource_id, "page_size": 1})
    items = runs.get("results", []) if isinstance(runs, dict) else runs
    return items[0]["id"] if items else None


def _tell_if_queued(api: Client, run_id: Any) -> None:
    """On stderr (the log stays clean on stdout): the run waits for a worker, and since when."""
    run = api.get(f"/api/v1/runs/{run_id}/")
    if run.get("status") != "queued":
        return
    since = ""
    try:
        created = datetime.fromisoformat(str(run.get("created_at")))
        seconds = max(0, int((datetime.now(UTC) - created).total_seconds()))
        since = f" (queued {seconds} s ago)"
    except (TypeError, ValueError):
        pass
    typer.echo(f"Waiting for a worker… run {run_id} is queued{since}.", err=True)


def _log_page(api: Client, run_id: Any, offset: int) -> tuple[str, int, bool]:
    """(new text, next offset, complete) from `GET /api/v1/runs/{id}/log/?offset=N`."""
    body = api.get(f"/api/v1/runs/{run_id}/log/", {"offset": offset})
    text = str(body.get("text") or "")
    return text, int(body.get("next_offset", offset + len(text))), bool(body.get("complete"))


def _cloudwatch_logs(api: Client, resource_id: str, run: str | None) -> None:
    """The resource's run logs as CloudWatch Logs holds them, oldest run first."""
    params = {"run": run} if run else None
    events = api.get(f"/api/v1/resources/{resource_id}/cloudwatch-logs/", params)
    if not events:
        fail(f"resource {resource_id} has no run log in CloudWatch Logs yet", FAILED)
    current = None
    for event in sorted(events, key=lambda e: int(e["run"])):
        if event["run"] != current:
            current = event["run"]
            typer.echo(f"--- run {current}: {event['log_group']} {event['log_stream']} ---")
        typer.echo(str(event["message"]))


@app.command("logs")
def logs(
    resource_id: str,
    follow: Annotated[bool, typer.Option("--follow", "-F", help="Stream as it grows")] = False,
    run: Annotated[str | None, typer.Option("--run", help="A run id (default: newest)")] = None,
    source: Annotated[
        str, typer.Option("--source", help="platform (default) or cloudwatch (shipped runs)")
    ] = "platform",
) -> None:
    """Print the current run's log; with --follow, stream it (and the runs that follow it)."""
    api = client()
    if source == "cloudwatch":
        _cloudwatch_logs(api, resource_id, run)
        return
    if source != "platform":
        fail("--source: choose platform or cloudwatch", USAGE)
    run_id = run or newest_run_id(api, resource_id)
    if run_id is None:
        fail(f"resource {resource_id} has no runs yet", FAILED)
    offset, last_char = 0, "\n"
    seen_runs = {str(run_id)}
    told_waiting: set[str] = set()
    while True:
        text, offset, complete = _log_page(api, run_id, offset)
        if text:
            typer.echo(text, nl=False)
            last_char = text[-1]
            continue  # read on until caught up
        if not follow:
            break
        if not complete:
            if offset == 0 and str(run_id) not in told_waiting:
                # An empty log while queued is no worker yet, not a hang: say so, once.
                told_waiting.add(str(run_id))
                _tell_if_queued(api, run_id)
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


@app.command("access")
def access(
    resource_id: str,
    restrict_role: Annotated[
        str | None,
        typer.Option(
            "--restrict-role",
            help="Restrict: only this role of the team and above acts (maintainer, admin)",
        ),
    ] = None,
    restrict_user: Annotated[
        list[str] | None,
        typer.Option("--restrict-user", help="Restrict: this member acts too (repeatable)"),
    ] = None,
    unrestrict: Annotated[
        bool, typer.Option("--unrestrict", help="Lift the restriction: the team's roles decide")
    ] = False,
    share: Annotated[
        list[str] | None,
        typer.Option(
            "--share", help="Share with TEAM (read) or TEAM:use (also as a dependency); repeatable"
        ),
    ] = None,
    unshare: Annotated[
        list[str] | None, typer.Option("--unshare", help="Stop sharing with TEAM; repeatable")
    ] = None,
) -> None:
    """Who may act on the resource and which teams see it; with options (team admins),
    change that: the rest stays as it is."""
    api = client()
    path = f"{_path(resource_id)}access/"
    current = api.get(path)
    changing = restrict_role or restrict_user or unrestrict or share or unshare
    if changing:
        if unrestrict and (restrict_role or restrict_user):
            fail("Choose --unrestrict or --restrict-role/--restrict-user, not both", USAGE)
        restricted = current.get("restricted_to")
        if unrestrict:
            restricted = None
        elif restrict_role or restrict_user:
            restricted = {
                "role": restrict_role or (restricted or {}).get("role"),
                "users": sorted({*(restricted or {}).get("users", []), *(restrict_user or [])}),
            }
        shares = {s["team"]: s["level"] for s in current.get("shared_with") or []}
        for entry in share or []:
            team, _, level = entry.partition(":")
            shares[team] = level or "read"
        for team in unshare or []:
            shares.pop(team, None)
        body = {
            "restricted_to": restricted,
            "shared_with": [{"team": t, "level": lv} for t, lv in sorted(shares.items())],
        }
        current = api.put(path, body)
    typer.echo(access_line(current))
