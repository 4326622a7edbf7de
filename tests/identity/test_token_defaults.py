"""Least-privilege personal tokens: read only unless more is chosen, on every surface."""

from __future__ import annotations

import io
import json

from django.core.management import call_command

from idp import services
from idp.models import APIToken
from tests.helpers import bearer
from tests.utils import assert_error, assert_ok


def test_the_token_form_ticks_read_only_and_marks_the_powerful_scopes(alice, client_as):
    page = client_as(alice).get("/profile/").content.decode()
    fieldset = page[page.index('id="token-scopes"') : page.index("</fieldset>")]
    ticked = [part.split('value="')[1].split('"')[0] for part in fieldset.split("<input")[1:]]
    checked = [
        part.split('value="')[1].split('"')[0]
        for part in fieldset.split("<input")[1:]
        if " checked" in part.split(">")[0]
    ]
    assert ticked == ["read", "write", "approve", "admin"]
    assert checked == ["read"]
    # Approve and admin say they are powerful; read and write do not.
    labels = fieldset.split("<label")[1:]
    powerful = [label for label in labels if "powerful" in label]
    assert len(powerful) == 2
    assert 'value="approve"' in powerful[0] and 'value="admin"' in powerful[1]


def test_the_token_form_makes_what_is_ticked(alice, client_as):
    client = client_as(alice)
    response = client.post("/profile/tokens/", {"name": "ro", "scopes": ["read"]})
    assert response.status_code == 302
    assert APIToken.objects.get(user=alice, name="ro").scopes == ["read"]
    response = client.post("/profile/tokens/", {"name": "rw", "scopes": ["read", "write"]})
    assert APIToken.objects.get(user=alice, name="rw").scopes == ["read", "write"]


def test_an_empty_choice_is_refused_with_a_message(alice, client_as):
    response = client_as(alice).post("/profile/tokens/", {"name": "nothing"})
    assert response.status_code == 400
    page = response.content.decode()
    fieldset = page[page.index('id="token-scopes"') : page.index("</fieldset>")]
    assert "errorlist" in fieldset and "Choose at least one scope" in fieldset
    assert not APIToken.objects.filter(user=alice).exists()


def test_the_api_without_scopes_makes_a_read_only_token(alice):
    _, raw = services.create_api_token(alice, name="parent", scopes=["read", "write"])
    api = bearer(raw)
    made = assert_ok(api.post("/api/v1/tokens/", {"name": "child"}), 201)
    assert made["scopes"] == ["read"]
    assert APIToken.objects.get(pk=made["id"]).scopes == ["read"]
    # An empty list is refused naming the field; approve only when asked for.
    assert_error(api.post("/api/v1/tokens/", {"scopes": []}), 400, "scopes")
    asked = assert_ok(api.post("/api/v1/tokens/", {"scopes": ["read", "write"]}), 201)
    assert asked["scopes"] == ["read", "write"]


def test_a_session_api_call_without_scopes_is_read_only(alice, client_as):
    answer = client_as(alice).post(
        "/api/v1/tokens/", json.dumps({"name": "laptop"}), content_type="application/json"
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["scopes"] == ["read"]


def test_create_api_token_without_scope_is_read_only(alice):
    out = io.StringIO()
    call_command("create_api_token", "alice", "--name", "ops", stdout=out)
    raw = out.getvalue().strip()
    assert APIToken.objects.get(user=alice, name="ops").scopes == ["read"]
    api = bearer(raw)
    assert_ok(api.get("/api/v1/me/"))
    body = assert_error(api.post("/api/v1/tokens/", {"scopes": ["write"]}), 403)
    assert "'write'" in body["detail"]
    call_command(
        "create_api_token", "alice", "--name", "ops2", "--scope", "read,approve", stdout=out
    )
    assert APIToken.objects.get(user=alice, name="ops2").scopes == ["read", "approve"]


def test_existing_tokens_keep_their_scopes(alice, client_as):
    old, raw = services.create_api_token(
        alice, name="old", scopes=["read", "write", "approve", "admin"]
    )
    client_as(alice).post("/profile/tokens/", {"name": "new", "scopes": ["read"]})
    old.refresh_from_db()
    assert old.scopes == ["read", "write", "approve", "admin"]
    assert_ok(bearer(raw).get("/api/v1/me/"))
