"""`idp tokens` through the CLI against a live server."""

from __future__ import annotations

import json

from idp import services
from idp.models import APIToken
from tests.cli.conftest import cli  # noqa: F401 - fixture


def test_cli_creates_lists_and_revokes_scoped_tokens(cli, alice):  # noqa: F811
    _, raw = services.create_api_token(alice, name="login")
    made = cli("tokens", "create", "ro", "--scope", "read", "--expires", "7d", token=raw)
    assert made.exit_code == 0, made.output
    value = made.stdout.strip()
    assert value.startswith("idp_") and "\n" not in value
    token = APIToken.objects.get(user=alice, name="ro")
    assert token.scopes == ["read"]
    # The read token lists but cannot create.
    listed = cli("tokens", "list", "--output", "json", token=value)
    assert listed.exit_code == 0, listed.output
    assert {t["name"] for t in json.loads(listed.stdout)} == {"login", "ro"}
    refused = cli("tokens", "create", "again", token=value)
    assert refused.exit_code == 3 and "lacks the 'write' scope" in refused.stderr
    assert cli("tokens", "revoke", str(token.pk), token=raw).exit_code == 0
    token.refresh_from_db()
    assert token.revoked_at is not None
