"""Scoped, expiring personal API tokens through the HTTP API and `manage.py`."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from idp import services
from idp.choices import Role
from idp.models import APIToken, AuditEvent
from provisioning.choices import ResourceStatus
from provisioning.models import Resource
from tests.helpers import bearer
from tests.utils import assert_error, assert_ok

REQUEST = {
    "template": "example-config",
    "team": "payments",
    "environment": "dev",
    "name": "app-config",
    "parameters": {"message": "hello"},
}


def token(user, **kw) -> str:
    return services.create_api_token(user, name="t", **kw)[1]


def test_read_token_reads_but_cannot_create_a_resource(alice, envs, template):
    api = bearer(token(alice, scopes=["read"]))
    assert_ok(api.get("/api/v1/resources/"))
    body = assert_error(api.post("/api/v1/resources/", REQUEST), 403)
    assert body == {"detail": "This token lacks the 'write' scope."}
    assert not Resource.objects.exists()
    # The same person with a write token creates it.
    assert_ok(
        bearer(token(alice, scopes=["read", "write"])).post("/api/v1/resources/", REQUEST), 201
    )


def test_write_never_implies_approve(alice, bob, make_resource, envs, make_user, teams):
    resource = make_resource(
        teams["payments"],
        "cfg",
        environment=envs["prod"],
        status=ResourceStatus.AWAITING_APPROVAL,
        requested_by=alice,
    )
    api = bearer(token(bob, scopes=["read", "write"]))
    for action in ("approve", "reject"):
        body = assert_error(
            api.post(f"/api/v1/resources/{resource.pk}/{action}/", {"reason": "x"}), 403
        )
        assert body["detail"] == "This token lacks the 'approve' scope."
    # Break-glass is a decision and a platform-admin power: both scopes.
    admin = make_user("root-like")
    services.set_platform_admin(admin, True)
    glass = bearer(token(admin, scopes=["read", "write", "approve"]))
    body = assert_error(
        glass.post(f"/api/v1/resources/{resource.pk}/break-glass/", {"reason": "x"}), 403
    )
    assert body["detail"] == "This token lacks the 'admin' scope."


def test_admin_scope_gates_platform_admin_powers(platform_admin, teams):
    plain = bearer(token(platform_admin, scopes=["read", "write"]))
    body = assert_error(plain.post("/api/v1/teams/", {"slug": "billing"}), 403)
    assert body["detail"] == "This token lacks the 'admin' scope."
    # Without the admin scope the admin sees what their memberships give: no team here.
    assert assert_ok(plain.get("/api/v1/teams/"))["count"] == 0
    assert_error(plain.get("/api/v1/teams/payments/"), 404)
    full = bearer(token(platform_admin, scopes=["read", "write", "admin"]))
    assert assert_ok(full.get("/api/v1/teams/"))["count"] == 2
    assert_ok(full.post("/api/v1/teams/", {"slug": "billing"}), 201)


def test_sessions_and_password_jwts_are_unaffected(platform_admin, client_as):
    pair = assert_ok(
        APIClient().post("/api/v1/auth/token/", {"username": "padmin", "password": "pw-padmin"})
    )
    assert_ok(bearer(pair["access"]).post("/api/v1/teams/", {"slug": "billing"}), 201)
    session = APIClient()
    session.force_login(platform_admin, backend="django.contrib.auth.backends.ModelBackend")
    assert_ok(session.post("/api/v1/teams/", {"slug": "ledger"}), 201)


def test_team_restricted_token_sees_only_that_team(make_user, teams, envs, template):
    both = make_user("dora", team=teams["payments"], role=Role.MEMBER)
    services.set_membership(teams["search"], both, Role.MEMBER)
    api = bearer(token(both, team=teams["payments"]))
    listed = assert_ok(api.get("/api/v1/teams/"))["results"]
    assert [t["slug"] for t in listed] == ["payments"]
    assert_error(api.get("/api/v1/teams/search/"), 404)
    assert_error(api.post("/api/v1/resources/", {**REQUEST, "team": "search"}), 400, "team")
    assert_ok(api.post("/api/v1/resources/", REQUEST), 201)
    # Unrestricted, the same person sees both.
    assert assert_ok(bearer(token(both)).get("/api/v1/teams/"))["count"] == 2


def test_tokens_api_scopes_expiry_team_and_last_use(alice, carol, teams):
    api = bearer(token(alice))
    body = assert_ok(
        api.post(
            "/api/v1/tokens/",
            {"name": "ro", "scopes": ["read"], "expires_in": "30d", "team": "payments"},
        ),
        201,
    )
    assert body["scopes"] == ["read"] and body["team"] == "payments"
    created = APIToken.objects.get(pk=body["id"])
    assert abs(created.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert_ok(bearer(body["token"], REMOTE_ADDR="10.1.2.3").get("/api/v1/me/"))
    created.refresh_from_db()
    assert created.last_used_at is not None and created.last_used_ip == "10.1.2.3"
    listed = {t["id"]: t for t in assert_ok(api.get("/api/v1/tokens/"))["results"]}
    assert listed[created.pk]["last_used_ip"] == "10.1.2.3" and "token" not in listed[created.pk]

    # Bad input names its field.
    assert_error(api.post("/api/v1/tokens/", {"scopes": ["root"]}), 400, "scopes")
    assert_error(api.post("/api/v1/tokens/", {"scopes": []}), 400, "scopes")
    assert_error(api.post("/api/v1/tokens/", {"expires_in": "400d"}), 400, "expires_in")
    assert_error(api.post("/api/v1/tokens/", {"expires_in": "soon"}), 400, "expires_in")
    assert_error(api.post("/api/v1/tokens/", {"team": "search"}), 400, "team")  # not hers


def test_default_and_maximum_lifetime_are_settings(alice, settings):
    settings.IDP_TOKEN_DEFAULT_DAYS = 7
    settings.IDP_TOKEN_MAX_DAYS = 10
    made, _ = services.create_api_token(alice)
    assert made.scopes == ["read", "write", "approve", "admin"]
    assert abs(made.expires_at - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)
    with pytest.raises(services.ServiceError) as refused:
        services.create_api_token(alice, lifetime=timedelta(days=11))
    assert refused.value.field == "expires_in"


def test_expired_token_is_refused(alice):
    made, raw = services.create_api_token(alice, scopes=["read"])
    assert_ok(bearer(raw).get("/api/v1/me/"))
    APIToken.objects.filter(pk=made.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    body = assert_error(bearer(raw).get("/api/v1/me/"), 401)
    assert "expired" in body["detail"]


def test_a_token_cannot_mint_a_stronger_one(alice, teams):
    weak, weak_raw = services.create_api_token(
        alice, scopes=["read", "write"], team=teams["payments"], lifetime=timedelta(days=2)
    )
    api = bearer(weak_raw)
    body = assert_error(api.post("/api/v1/tokens/", {"scopes": ["read", "approve"]}), 403)
    assert "'approve'" in body["detail"]
    made = assert_ok(api.post("/api/v1/tokens/", {"scopes": ["read"], "expires_in": "90d"}), 201)
    child = APIToken.objects.get(pk=made["id"])
    assert child.team == teams["payments"] and child.expires_at <= weak.expires_at
    assert AuditEvent.objects.filter(action="api_token.created", target_id=str(child.pk)).exists()


def test_create_api_token_command_scopes_and_expiry(alice):
    out = io.StringIO()
    call_command("create_api_token", "alice", "--scope", "read", "--expires", "30d", stdout=out)
    raw = out.getvalue().strip()
    assert out.getvalue() == raw + "\n" and raw.startswith("idp_")
    made = APIToken.objects.get(user=alice, name="cli")
    assert made.scopes == ["read"]
    assert abs(made.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert_error(bearer(raw).post("/api/v1/tokens/", {}), 403)
    out = io.StringIO()
    call_command("create_api_token", "alice", "--scope", "read,write", "--name", "two", stdout=out)
    assert APIToken.objects.get(user=alice, name="two").scopes == ["read", "write"]
    with pytest.raises(CommandError, match="Unknown scope 'sudo'"):
        call_command("create_api_token", "alice", "--scope", "sudo", stdout=io.StringIO())
    with pytest.raises(CommandError, match="at most"):
        call_command("create_api_token", "alice", "--expires", "9999d", stdout=io.StringIO())


def test_profile_page_creates_a_scoped_expiring_token(alice, client_as):
    client = client_as(alice)
    response = client.post(
        "/profile/tokens/", {"name": "ro", "scopes": ["read"], "expires_in": "7d"}
    )
    assert response.status_code == 302
    made = APIToken.objects.get(user=alice, name="ro")
    assert made.scopes == ["read"]
    assert abs(made.expires_at - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)
    page = client.get("/profile/").content.decode()
    assert 'id="token-scopes"' in page and made.expires_at.strftime("%Y-%m-%d") in page
    response = client.post("/profile/tokens/", {"name": "x", "expires_in": "forever"})
    assert response.status_code == 400 and b"errorlist" in response.content
