"""`idp tokens …`: your API tokens (scopes, team, expiry, last use); values shown once."""

from __future__ import annotations

from typing import Annotated

import typer

from .client import client
from .output import Column, Format, OutputOption, dump, show_list

app = typer.Typer(help="Your API tokens: list, create (scoped, expiring), revoke.")

COLUMNS: list[Column] = [
    ("ID", "id"),
    ("NAME", "name"),
    ("PREFIX", "key_prefix"),
    ("SCOPES", lambda t: ",".join(t.get("scopes") or [])),
    ("TEAM", "team"),
    ("EXPIRES", "expires_at"),
    ("LAST USED", "last_used_at"),
    ("REVOKED", "revoked_at"),
]


@app.command("list")
def list_(output: OutputOption = Format.table) -> None:
    """Your tokens, newest first."""
    show_list(client().list("/api/v1/tokens/"), COLUMNS, output)


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="What the token is for")] = "cli",
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help="read, write, approve, admin (repeat); default: read only"),
    ] = None,
    expires: Annotated[
        str | None, typer.Option("--expires", help="30d, 12h, 2w or a number of days")
    ] = None,
    team: Annotated[str | None, typer.Option("--team", help="Only this team's objects")] = None,
    output: OutputOption = Format.table,
) -> None:
    """Create a token; prints its value alone (shown once) unless --output json/yaml."""
    body: dict[str, object] = {"name": name}
    if scope:
        body["scopes"] = [s.strip() for value in scope for s in value.split(",") if s.strip()]
    if expires:
        body["expires_in"] = expires
    if team:
        body["team"] = team
    made = client().post("/api/v1/tokens/", body)
    if output is Format.table:
        typer.echo(made["token"])
    else:
        dump(made, output)


@app.command("revoke")
def revoke(token_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Revoke one of your tokens for good."""
    client().delete(f"/api/v1/tokens/{token_id}/")
    typer.echo(f"Token {token_id} revoked.")
