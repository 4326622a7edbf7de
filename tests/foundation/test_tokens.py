"""Personal API tokens (command, profile page, API) and JWTs."""

from __future__ import annotations

import hashlib
import io

from django.core.management import call_command
from rest_framework.test import APIClient

from idp.models import APIToken, AuditEvent
from tests.helpers import bearer
from tests.utils import assert_error, assert_ok


def test_create_api_token_command_prints_only_the_token(alice):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", "alice", "--name", "laptop", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    assert out.getvalue() == raw + "\n" and raw.startswith("idp_") and " " not in raw
    body = assert_ok(bearer(raw).get("/api/v1/me/"))
    assert body["user"]["username"] == "alice"
    assert body["teams"] == [{"slug": "payments", "name": "Payments", "role": "member"}]
    token = APIToken.objects.get(user=alice, name="laptop")
    # Only a hash is kept: the raw value is in no column.
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(APIToken.objects.filter(pk=token.pk).values().first())
    assert raw not in str(list(AuditEvent.objects.values()))
    assert token.last_used_at is not None

    token.revoked_at = token.created_at
    token.save()
    assert_error(bearer(raw).get("/api/v1/me/"), 401)


def test_unknown_or_malformed_bearer_is_401(alice):
    assert_error(bearer("idp_not-a-real-token").get("/api/v1/me/"), 401)
    assert_error(bearer("garbage").get("/api/v1/me/"), 401)
    response = APIClient().get("/api/v1/me/")
    assert_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_profile_page_creates_token_shown_once_and_revokes(alice, client_as):
    client = client_as(alice)
    response = client.post("/profile/tokens/", {"name": "ci", "scopes": ["read"]})
    assert response.status_code == 302
    page = client.get("/profile/").content.decode()
    token = APIToken.objects.get(user=alice, name="ci")
    start = page.index('id="new-token-value">') + len('id="new-token-value">')
    raw = page[start : page.index("<", start)]
    assert hashlib.sha256(raw.encode()).hexdigest() == token.key_hash
    assert_ok(bearer(raw).get("/api/v1/me/"))
    again = client.get("/profile/").content.decode()
    assert raw not in again and token.key_prefix in again  # shown once, then only the prefix

    assert client.post(f"/profile/tokens/{token.pk}/revoke/").status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert_error(bearer(raw).get("/api/v1/me/"), 401)
    assert "revoked" in client.get("/profile/").content.decode()


def test_profile_token_bad_name_and_foreign_token(alice, carol, client_as):
    client = client_as(alice)
    response = client.post("/profile/tokens/", {"name": ""})
    assert response.status_code == 400 and b"errorlist" in response.content
    assert not APIToken.objects.filter(user=alice).exists()
    foreign = APIToken.objects.create(user=carol, name="x", key_prefix="idp_x", key_hash="0" * 64)
    assert client.post(f"/profile/tokens/{foreign.pk}/revoke/").status_code == 404
    foreign.refresh_from_db()
    assert foreign.revoked_at is None


def test_tokens_api_create_list_revoke(alice, carol, api_as):
    api = api_as(alice)
    created = assert_ok(api.post("/api/v1/tokens/", {"name": "deploy-bot"}), 201)
    raw = created["token"]
    assert raw.startswith(created["key_prefix"])
    listed = assert_ok(api.get("/api/v1/tokens/"))
    assert {t["name"] for t in listed["results"]} == {"test", "deploy-bot"}
    assert all("token" not in t and "key_hash" not in t for t in listed["results"])
    assert_ok(bearer(raw).get("/api/v1/me/"))

    assert_ok(api.delete(f"/api/v1/tokens/{created['id']}/"), 204)
    assert_error(bearer(raw).get("/api/v1/me/"), 401)
    assert assert_ok(api.get("/api/v1/tokens/"))["count"] == 2  # revoked ones stay listed

    carol_token = assert_ok(api_as(carol).get("/api/v1/tokens/"))["results"][0]
    assert_error(api.delete(f"/api/v1/tokens/{carol_token['id']}/"), 404)
    assert_error(api.post("/api/v1/tokens/", {"name": "x" * 101}), 400, field="name")
    assert {e.action for e in AuditEvent.objects.filter(actor=alice)} >= {
        "api_token.created",
        "api_token.revoked",
    }


def test_jwt_obtain_use_refresh(alice):
    client = APIClient()
    tokens = assert_ok(
        client.post("/api/v1/auth/token/", {"username": "alice", "password": "pw-alice"})
    )
    assert set(tokens) == {"access", "refresh"}
    assert assert_ok(bearer(tokens["access"]).get("/api/v1/me/"))["user"]["username"] == "alice"
    refreshed = assert_ok(
        client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]})
    )
    assert assert_ok(bearer(refreshed["access"]).get("/api/v1/teams/"))["count"] == 1

    body = assert_error(
        client.post("/api/v1/auth/token/", {"username": "alice", "password": "wrong"}), 401
    )
    assert isinstance(body["detail"], str)
    assert_error(client.post("/api/v1/auth/token/refresh/", {"refresh": "nope"}), 401)
    assert_error(bearer("eyJhbGciOiJIUzI1NiJ9.e30.bad").get("/api/v1/me/"), 401)
