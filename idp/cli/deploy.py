"""`idp deploy …` and `idp deployments …`: the platform deploys a service's artifact to the
runtime its environment is bound to, and remembers it (through /api/v1/deployments/)."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from .client import FAILED, Client, client, fail
from .common import poll_interval
from .output import Column, Format, LimitOption, OutputOption, show_list, show_object

app = typer.Typer(help="Deployments: what runs where, promote, roll back.", no_args_is_help=True)

PATH = "/api/v1/deployments/"
ACTIVE = {"awaiting_approval", "queued", "running"}
COLUMNS: list[Column] = [
    ("ID", "id"),
    ("SERVICE", "service"),
    ("ENV", "environment"),
    ("VERSION", "version"),
    ("COMMIT", lambda d: (d.get("commit") or "")[:12]),
    ("STATUS", "status"),
    ("BY", "triggered_by"),
    ("FINISHED", "finished_at"),
]
FIELDS: list[Column] = [
    *COLUMNS,
    ("RUNTIME", lambda d: f"{d.get('kind')} {d.get('target')}"),
    ("ARTIFACT", "artifact"),
    ("DIGEST", "artifact_digest"),
    ("PROMOTED FROM", "promoted_from"),
    ("ROLLBACK OF", "rollback_of"),
    ("ERROR", "error"),
]


def follow(api: Client, deployment: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Print the deployment's log as it grows until it is over; its final state."""
    pk = deployment["id"]
    offset, told, deadline = 0, "", time.monotonic() + timeout
    while True:
        page = api.get(f"{PATH}{pk}/log/", {"offset": offset})
        if page.get("text"):
            typer.echo(page["text"], nl=False)
            offset = page["next_offset"]
            continue
        if page.get("complete"):
            return dict(api.get(f"{PATH}{pk}/"))
        status = page.get("status", "")
        if status == "awaiting_approval" and told != status:
            typer.echo(
                f"deployment {pk} awaits approval: someone else approves it in the portal, ",
                err=True,
                nl=False,
            )
            typer.echo(f"or `idp deployments approve {pk}`", err=True)
        told = status
        if time.monotonic() > deadline:
            fail(f"deployment {pk} still {status} after {int(timeout)}s", FAILED)
        time.sleep(poll_interval())


def _end(deployment: dict[str, Any], wait: bool, output: Format) -> None:
    show_object(deployment, output, FIELDS)
    if wait and deployment.get("status") in ("failed", "rejected", "cancelled"):
        fail(
            f"deployment {deployment['id']} {deployment['status']}: "
            f"{deployment.get('error') or 'see its log'}",
            FAILED,
        )


def deploy(
    service: Annotated[str, typer.Option("--service", "-s", help="Service slug")],
    env: Annotated[str, typer.Option("--env", "-e", help="Environment slug")],
    artifact: Annotated[
        str | None,
        typer.Option("--artifact", "-a", help="s3://bucket/key, or a key in the team's bucket"),
    ] = None,
    commit: Annotated[str | None, typer.Option("--commit", "-c", help="The commit's SHA")] = None,
    version: Annotated[
        str | None, typer.Option("--version", help="Version label (default: short commit)")
    ] = None,
    promote_from: Annotated[
        int | None, typer.Option("--promote-from", help="Deploy this deployment's artifact")
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (shown to approvers)")] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow the log until it is deployed or fails")
    ] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds --wait waits")] = 1800,
    output: OutputOption = Format.table,
) -> None:
    """Deploy an artifact of a service to an environment (or --promote-from a deployment)."""
    body: dict[str, Any] = {"service": service, "environment": env}
    if promote_from is not None:
        body["promote_from"] = promote_from
    else:
        body.update(artifact=artifact, commit=commit)
        if version:
            body["version"] = version
    if reason:
        body["reason"] = reason
    api = client()
    deployment = api.post(PATH, body)
    if wait:
        deployment = follow(api, deployment, timeout)
    _end(deployment, wait, output)


@app.command("list")
def list_(
    service: Annotated[str | None, typer.Option("--service", "-s")] = None,
    env: Annotated[str | None, typer.Option("--env", "-e")] = None,
    limit: LimitOption = 100,
    output: OutputOption = Format.table,
) -> None:
    """Deployments you can see, newest first."""
    params = {"service": service, "environment": env}
    show_list(client().list(PATH, params, limit), COLUMNS, output)


@app.command("show")
def show(deployment_id: int, output: OutputOption = Format.table) -> None:
    """One deployment."""
    show_object(client().get(f"{PATH}{deployment_id}/"), output, FIELDS)


@app.command("logs")
def logs(
    deployment_id: int,
    follow_: Annotated[bool, typer.Option("--follow", "-f", help="Until it is over")] = False,
) -> None:
    """The deployment's log."""
    api = client()
    if follow_:
        follow(api, {"id": deployment_id}, 1800)
        return
    typer.echo(api.get(f"{PATH}{deployment_id}/").get("log", ""), nl=False)


@app.command("rollback")
def rollback(
    deployment_id: int,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    wait: Annotated[bool, typer.Option("--wait")] = False,
    output: OutputOption = Format.table,
) -> None:
    """Deploy the last good version before this (running) deployment again."""
    api = client()
    deployment = api.post(f"{PATH}{deployment_id}/rollback/", {"reason": reason or ""})
    if wait:
        deployment = follow(api, deployment, 1800)
    _end(deployment, wait, output)


@app.command("approve")
def approve(
    deployment_id: int,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    output: OutputOption = Format.table,
) -> None:
    """Approve a deployment awaiting approval (never your own)."""
    show_object(
        client().post(f"{PATH}{deployment_id}/approve/", {"reason": reason or ""}), output, FIELDS
    )


@app.command("reject")
def reject(
    deployment_id: int,
    reason: Annotated[str, typer.Option("--reason", help="Why (required)")],
    output: OutputOption = Format.table,
) -> None:
    """Reject a deployment awaiting approval."""
    show_object(client().post(f"{PATH}{deployment_id}/reject/", {"reason": reason}), output, FIELDS)
