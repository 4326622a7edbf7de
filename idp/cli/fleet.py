"""`idp fleet …`: upgrade many resources of a template to a version, in waves.

`idp fleet start TEMPLATE --version N [--team T …] [--env E …] [--from-version V …]
[--tag KEY=VALUE …] [--resource ID …]` plans every selected resource against the version
(each option given narrows the selection); `idp fleet status ID --follow` shows the
progress bars until the fleet upgrade ends or pauses; `pause`, `resume`, `cancel`, `list`.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from .client import FAILED, USAGE, Client, client, fail
from .common import poll_interval
from .output import Column, Format, LimitOption, OutputOption, dump, err_console, show_list

app = typer.Typer(help="Fleet upgrades: many resources moved to a version in waves.")

FINAL = {"completed", "cancelled"}
STOPPED = FINAL | {"paused", "planned"}

COLUMNS: list[Column] = [
    ("ID", "id"),
    ("TEMPLATE", lambda f: f"{f.get('template')} {_target(f)}"),
    ("TEAM", lambda f: f.get("team") or "all"),
    ("STATUS", "status"),
    ("WAVE", lambda f: f"{f.get('current_wave')}/{f.get('wave_count')}"),
    ("DONE", lambda f: f"{_p(f)['done']}/{_p(f)['total']}"),
    ("CREATED", "created_at"),
]


def _target(fleet: dict[str, Any]) -> Any:
    """The target version's name as the API gives it (`1.1.0`, `v3`)."""
    return fleet.get("target_version_label") or fleet.get("target_version")


def _p(fleet: dict[str, Any]) -> dict[str, Any]:
    return fleet.get("progress") or {"done": 0, "total": 0, "planned": 0}


@app.command("list")
def list_(limit: LimitOption = 100, output: OutputOption = Format.table) -> None:
    """The fleet upgrades you may see, newest first."""
    show_list(client().list("/api/v1/fleet-upgrades/", {}, limit), COLUMNS, output)


@app.command("start")
def start(
    template: Annotated[str, typer.Argument(help="The template's slug")],
    version: Annotated[
        str, typer.Option("--version", "-v", help="Target version: number or tag (v1.1.0)")
    ] = "",
    team: Annotated[list[str] | None, typer.Option("--team", help="Select by team")] = None,
    env: Annotated[list[str] | None, typer.Option("--env", help="Select by environment")] = None,
    resource: Annotated[
        list[int] | None, typer.Option("--resource", help="Select resources by id")
    ] = None,
    from_version: Annotated[
        list[str] | None,
        typer.Option("--from-version", help="Only resources now on this version (number or tag)"),
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", help="Only resources whose tags/labels hold KEY=VALUE"),
    ] = None,
    waves: Annotated[
        str | None,
        typer.Option("--waves", help="Waves of environments: 'sandbox,dev;staging;prod'"),
    ] = None,
    percent: Annotated[
        str | None, typer.Option("--percent", help="Waves by cumulative percentage: '10,50,100'")
    ] = None,
    parallelism: Annotated[int | None, typer.Option("--parallelism")] = None,
    threshold: Annotated[
        int | None,
        typer.Option("--threshold", help="Pause when more than this % of a wave's applies failed"),
    ] = None,
    no_auto_apply: Annotated[
        bool, typer.Option("--no-auto-apply", help="Stop after planning; `resume` starts waves")
    ] = False,
    output: OutputOption = Format.table,
) -> None:
    """Plan every selected resource against the version, then apply wave by wave."""
    # The kind names the first choice; every other option given narrows it (the server rules).
    kind = "resources" if resource else "team" if team else "environment" if env else "all"
    selection: dict[str, Any] = {"kind": kind}
    for key, value in (
        ("resources", resource),
        ("teams", team),
        ("environments", env),
        ("from_versions", from_version),
        ("tags", tag),
    ):
        if value:
            selection[key] = value
    body: dict[str, Any] = {
        "template": template,
        "version": version,
        "selection": selection,
        "auto_apply": not no_auto_apply,
    }
    if waves:
        body["waves"] = [
            [e.strip() for e in wave.split(",") if e.strip()] for wave in waves.split(";")
        ]
    if percent:
        try:
            body["percentages"] = [int(p) for p in percent.split(",") if p.strip()]
        except ValueError:
            fail("--percent takes whole numbers, e.g. 10,50,100", USAGE)
    if parallelism is not None:
        body["parallelism"] = parallelism
    if threshold is not None:
        body["failure_threshold"] = threshold
    fleet = client().post("/api/v1/fleet-upgrades/", body)
    _show(fleet, output)


def _show(fleet: dict[str, Any], output: Format) -> None:
    """The fleet upgrade: head, waves, grouped plan results (JSON/YAML: all of it)."""
    if output is not Format.table:
        dump(fleet, output)
        return
    p = _p(fleet)
    typer.echo(
        f"Fleet upgrade {fleet['id']}: {fleet['template']} → {_target(fleet)} "
        f"({fleet.get('team') or 'all teams'}) — {fleet['status']}"
    )
    if fleet.get("pause_reason"):
        typer.echo(f"Paused: {fleet['pause_reason']}")
    typer.echo(f"Planned {p['planned']}/{p['total']} · done {p['done']}/{p['total']}")
    if fleet.get("groups"):
        kinds = " · ".join(f"{g['title']}: {g['count']}" for g in fleet["groups"])
        typer.echo(f"\n{kinds}")
    # By change: resources whose leaf changes are identical are one group, destructive first.
    for group in fleet.get("change_groups") or []:
        flag = (
            " [destroys]" if group.get("destroy") else " [replaces]" if group.get("replace") else ""
        )
        typer.echo(f"\n{group['title']}{flag}:")
        for change in group.get("changes") or []:
            if change.get("action") in ("delete", "replace") or not change.get("leaves"):
                typer.echo(f"  {change['address']} ({change['action']})")
            for leaf in change.get("leaves") or []:
                forces = "  # forces replacement" if leaf.get("forces_replacement") else ""
                typer.echo(f"  {leaf['text']}{forces}")
        members = ", ".join(f"{r['name']} ({r['environment']})" for r in group["resources"][:20])
        more = f" and {group['count'] - 20} more" if group["count"] > 20 else ""
        typer.echo(f"  resources: {members}{more}")
    for group in fleet.get("groups") or []:
        for error in group.get("plan_errors") or []:
            typer.echo(f"  {group['title']}: {error['resources']} × {error['error']}")
    if fleet.get("waves"):
        typer.echo("")
        for wave in fleet["waves"]:
            counts = ", ".join(f"{k} {v}" for k, v in (wave.get("counts") or {}).items())
            typer.echo(f"Wave {wave['index']} {wave['name']} [{wave['state']}]: {counts or '-'}")


def _follow(api: Client, fleet_id: str, timeout: float) -> dict[str, Any]:
    """Progress bars (plans, applies) until the fleet upgrade completes, pauses or stops."""
    deadline = time.monotonic() + timeout
    console = err_console()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        console=console,
        disable=not console.is_terminal,
    ) as bars:
        planned = bars.add_task("plans", total=None, status="")
        done = bars.add_task("done", total=None, status="")
        while True:
            fleet = api.get(f"/api/v1/fleet-upgrades/{fleet_id}/")
            p = _p(fleet)
            label = f"{fleet['status']} · wave {fleet['current_wave']}/{fleet['wave_count']}"
            bars.update(planned, completed=p["planned"], total=p["total"], status=label)
            bars.update(done, completed=p["done"], total=p["total"], status="")
            if fleet["status"] in STOPPED:
                return fleet
            if time.monotonic() > deadline:
                fail(
                    f"fleet upgrade {fleet_id} still {fleet['status']} after {int(timeout)}s",
                    FAILED,
                )
            time.sleep(poll_interval())


@app.command("status")
def status(
    fleet_id: Annotated[str, typer.Argument(metavar="ID")],
    follow: Annotated[
        bool, typer.Option("--follow", "-F", help="Progress bars until it ends or pauses")
    ] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to --follow at most")] = 3600,
    output: OutputOption = Format.table,
) -> None:
    """Progress, waves and grouped plan results; --follow: progress bars until it stops.

    --follow returns when the fleet upgrade completes, is cancelled, waits to start its
    waves or pauses (exit 1 when paused)."""
    api = client()
    fleet = (
        _follow(api, fleet_id, timeout)
        if follow
        else api.get(f"/api/v1/fleet-upgrades/{fleet_id}/")
    )
    _show(fleet, output)
    if follow and fleet["status"] == "paused":
        fail(f"fleet upgrade {fleet_id} paused: {fleet.get('pause_reason')}", FAILED)


def _control(fleet_id: str, verb: str, body: dict[str, Any] | None, output: Format) -> None:
    fleet = client().post(f"/api/v1/fleet-upgrades/{fleet_id}/{verb}/", body or {})
    _show(fleet, output)


@app.command("pause")
def pause(
    fleet_id: Annotated[str, typer.Argument(metavar="ID")],
    reason: Annotated[str, typer.Option("--reason")] = "",
    output: OutputOption = Format.table,
) -> None:
    """Stop starting plans and applies (what runs finishes)."""
    _control(fleet_id, "pause", {"reason": reason}, output)


@app.command("resume")
def resume(
    fleet_id: Annotated[str, typer.Argument(metavar="ID")], output: OutputOption = Format.table
) -> None:
    """Go on (a planned fleet upgrade starts its first wave)."""
    _control(fleet_id, "resume", None, output)


@app.command("cancel")
def cancel(
    fleet_id: Annotated[str, typer.Argument(metavar="ID")],
    reason: Annotated[str, typer.Option("--reason")] = "",
    output: OutputOption = Format.table,
) -> None:
    """Stop for good: held plans are discarded."""
    _control(fleet_id, "cancel", {"reason": reason}, output)
