"""The `idp` CLI sends an Idempotency-Key on every write: one fresh key per command run, so
the same request sent again within the run never acts twice, and two runs never share one."""

from __future__ import annotations

import httpx
import pytest

from idp.cli.client import Client
from idp.models import APIToken, IdempotencyKey
from tests.cli.conftest import cli, token_for  # noqa: F401 - fixtures


def test_every_write_of_a_run_carries_a_key_made_for_it() -> None:
    api = Client("http://idp.example", "idp_x")
    key = "Idempotency-Key"

    def sent(method: str, path: str, body: object = None) -> httpx.Request:
        request = api.http.build_request(method, path, json=body)
        for hook in api.http.event_hooks["request"]:
            hook(request)
        return request

    post = sent("POST", "/api/v1/tokens/", {"name": "a"})
    assert post.headers[key].startswith(f"cli-{api.invocation}-")
    assert sent("POST", "/api/v1/tokens/", {"name": "a"}).headers[key] == post.headers[key]
    others = {
        sent("POST", "/api/v1/tokens/", {"name": "b"}).headers[key],
        sent("DELETE", "/api/v1/tokens/1/").headers[key],
        sent("PATCH", "/api/v1/teams/t/", {"name": "a"}).headers[key],
        post.headers[key],
    }
    assert len(others) == 4
    assert key not in sent("GET", "/api/v1/tokens/").headers
    assert Client("http://idp.example", "idp_x").invocation != api.invocation
    # A key the user chose (`idp resources create --idempotency-key`) is sent as it is.
    chosen = api.http.build_request("POST", "/api/v1/resources/", headers={key: "mine"})
    api._idempotency_key(chosen)
    assert chosen.headers[key] == "mine"


@pytest.mark.django_db(transaction=True)
def test_a_cli_command_sends_its_key_to_the_server(cli, token_for, alice) -> None:  # noqa: F811
    token = token_for(alice)
    first = cli("tokens", "create", "deploy", token=token)
    assert first.exit_code == 0, first.output
    second = cli("tokens", "create", "deploy", token=token)
    assert second.exit_code == 0, second.output
    keys = list(IdempotencyKey.objects.filter(user=alice).values_list("key", flat=True))
    assert len(keys) == 2 and all(k.startswith("cli-") for k in keys)
    # Two runs: two keys, two tokens.
    assert APIToken.objects.filter(user=alice, name="deploy").count() == 2
