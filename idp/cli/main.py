"""The `idp` command: the platform from a terminal, through the REST API only."""

from __future__ import annotations

import socket
from typing import Annotated, Any

import typer

from . import (
    approvals,
    catalog,
    config,
    deploy,
    fleet,
    monitoring,
    pipelines,
    resources,
    tokens,
)
from .client import USAGE, Client, client, fail
from .output import Format, OutputOption, show_object

app = typer.Typer(
    name="idp",
    help="The Internal Developer Platform from your terminal (talks to the REST API).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(catalog.templates, name="templates")
app.add_typer(catalog.services, name="services")
app.add_typer(catalog.catalog_app, name="catalog")
app.add_typer(resources.app, name="resources")
app.add_typer(approvals.app, name="approvals")
app.add_typer(pipelines.app, name="pipelines")
app.add_typer(fleet.app, name="fleet")
app.add_typer(tokens.app, name="tokens")
app.add_typer(deploy.app, name="deployments")
app.command("deploy")(deploy.deploy)
app.command("costs")(monitoring.costs)
app.command("budgets")(monitoring.budgets)
app.command("alerts")(monitoring.alerts)


def _token_from_password(url: str, username: str, password: str) -> str:
    """Trade a username and password for a personal API token named after this machine."""
    anonymous = Client(url, "", require_token=False)
    pair = anonymous.post("/api/v1/auth/token/", {"username": username, "password": password})
    signed_in = Client(url, pair["access"])
    name = f"idp-cli@{socket.gethostname()}"[:100]
    # The CLI reads and makes changes; approve and admin come only from a token made for them.
    body = {"name": name, "scopes": ["read", "write"]}
    return str(signed_in.post("/api/v1/tokens/", body)["token"])


@app.command()
def login(
    url: Annotated[str, typer.Option("--url", help="The platform's base URL", envvar="IDP_URL")],
    token: Annotated[
        str | None, typer.Option("--token", help="A personal API token (idp_…)")
    ] = None,
    username: Annotated[
        str | None, typer.Option("--username", "-u", help="Sign in with a password instead")
    ] = None,
) -> None:
    """Check the token against the platform and store URL and token (mode 0600)."""
    url = url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        fail(f"--url must start with http:// or https://, got {url!r}", USAGE)
    if not token:
        if username is None:
            username = typer.prompt("Username")
        password = typer.prompt("Password", hide_input=True)
        token = _token_from_password(url, username, password)
    me = Client(url, token).get("/api/v1/me/")
    path = config.save(config.Config(url=url, token=token))
    typer.echo(f"Signed in to {url} as {me['user']['username']} (saved to {path})")


@app.command()
def whoami(output: OutputOption = Format.table) -> None:
    """The signed-in user, their teams and roles."""
    me = client().get("/api/v1/me/")
    if output is not Format.table:
        show_object(me, output)
        return
    teams = ", ".join(f"{t['slug']} ({t['role']})" for t in me.get("teams", [])) or "-"
    show_object(
        me,
        output,
        [
            ("user", "user.username"),
            ("email", "user.email"),
            ("platform admin", "is_platform_admin"),
            ("teams", lambda _: teams),
        ],
    )


def _status_fields() -> list[tuple[str, Any]]:
    return [
        ("workers", "workers"),
        ("queue depth", "queue_depth"),
        ("runs running", "runs.running"),
        ("runs queued", "runs.queued"),
        ("runs failed (last hour)", "runs.failed_last_hour"),
        ("last successful run", "last_successful_run.finished_at"),
    ]


@app.command()
def status(output: OutputOption = Format.table) -> None:
    """Platform status: workers, queue depth, recent runs."""
    show_object(client().get("/api/v1/status/"), output, _status_fields())


def main() -> None:  # pragma: no cover - `python -m idp.cli`
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
