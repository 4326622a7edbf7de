"""GitHub Actions OIDC tokens traded for platform tokens. The issuer is a local stand-in:
an RSA key set served over real HTTP on loopback (`github_oidc.py`), tokens signed with PyJWT."""

from __future__ import annotations

import json
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from rest_framework.test import APIClient

from idp import service_accounts
from idp.models import APIToken, AuditEvent
from tests.utils import assert_error, assert_ok

from .github_oidc import bearer, exchange

REQUEST = {
    "template": "example-config",
    "team": "payments",
    "environment": "dev",
    "name": "from-ci",
    "parameters": {"message": "deployed by CI"},
}


def test_mapped_repository_gets_a_short_lived_platform_token(
    issuer, bound, envs, template, make_resource, teams
):
    body = assert_ok(exchange(issuer.sign()))
    assert body["service_account"] == "sa:payments:ci" and body["team"] == "payments"
    assert body["scopes"] == ["read", "write"] and body["service"] == "payments-api"
    issued = APIToken.objects.get(workload_binding__service_account=bound)
    assert issued.expires_at is not None
    minutes = (issued.expires_at - issued.created_at).total_seconds() / 60
    assert 59 <= minutes <= 60
    assert "/_services/token/.well-known/jwks" in issuer.served

    # The platform token works like the account's own: creates in its team, never approves.
    api = bearer(body["token"])
    created = assert_ok(api.post("/api/v1/resources/", REQUEST), 201)
    assert created["requested_by"] == "sa:payments:ci"
    assert_error(api.post(f"/api/v1/resources/{created['id']}/approve/", {}), 403)
    theirs = make_resource(teams["search"], "not-ours")
    assert_error(api.get(f"/api/v1/resources/{theirs.pk}/"), 404)

    event = AuditEvent.objects.get(action="workload_identity.token_issued")
    assert event.actor_name == "sa:payments:ci"
    assert event.details["repository"] == "acme/payments-api"
    assert event.details["github_run_id"] == "4242"
    assert event.details["service_account_created_by"] == "bob"
    assert body["token"] not in json.dumps(list(AuditEvent.objects.values("details")))


def test_another_repository_is_refused(issuer, bound):
    body = assert_error(exchange(issuer.sign(repository="mallory/payments-api")), 403)
    assert "mallory/payments-api" in body["detail"]
    # A branch the binding does not trust, too.
    assert_error(exchange(issuer.sign(ref="refs/heads/feature")), 403)
    assert not APIToken.objects.filter(workload_binding__isnull=False).exists()


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "https://someone-else.example"},
        {"iss": "https://token.actions.githubusercontent.com"},
        {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 4000},
        {"repository": None},
        {"jti": None},
    ],
    ids=["audience", "issuer", "expired", "no-repository", "no-jti"],
)
def test_invalid_tokens_are_401(issuer, bound, claims):
    assert_error(exchange(issuer.sign(**claims)), 401)


def test_foreign_signature_replay_and_garbage(issuer, bound):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert_error(exchange(issuer.sign(key=stranger)), 401)
    assert_error(exchange("not-a-jwt"), 401)
    assert_error(APIClient().post("/api/v1/auth/github-oidc/", {}), 400, "token")
    once = issuer.sign()
    assert_ok(exchange(once))
    assert "already exchanged" in assert_error(exchange(once), 401)["detail"]


def test_environment_pattern_and_disabled_account(issuer, bound, bob):
    service_accounts.bind_github_repository(
        bound, "acme/infra", environment_pattern="prod*", actor=bob
    )
    assert_error(exchange(issuer.sign(repository="acme/infra")), 403)
    assert_ok(exchange(issuer.sign(repository="acme/infra", environment="production")))
    service_accounts.set_service_account_enabled(bound, False, actor=bob)
    assert_error(exchange(issuer.sign()), 403)


def test_issuer_down_is_503(issuer, bound, settings):
    from tests.utils import free_port

    settings.IDP_GITHUB_OIDC_JWKS_URL = f"http://127.0.0.1:{free_port()}/jwks"
    assert_error(exchange(issuer.sign()), 503)


def test_bindings_through_the_api(issuer, api_as, bob, alice, carol, teams):
    base = "/api/v1/teams/payments/service-accounts/"
    assert_ok(api_as(bob).post(base, {"name": "ci"}), 201)
    binding = assert_ok(
        api_as(bob).post(f"{base}ci/github-bindings/", {"repository": "acme/payments-api"}), 201
    )
    assert binding["scopes"] == ["read", "write"]
    assert_error(
        api_as(bob).post(f"{base}ci/github-bindings/", {"repository": "nope"}), 400, "repository"
    )
    assert_error(api_as(alice).post(f"{base}ci/github-bindings/", {"repository": "acme/x"}), 403)
    assert_error(api_as(carol).post(f"{base}ci/github-bindings/", {"repository": "acme/x"}), 404)
    token = assert_ok(exchange(issuer.sign()))["token"]
    assert_ok(api_as(bob).delete(f"{base}ci/github-bindings/{binding['id']}/"), 204)
    # Removing the binding revokes what it issued and refuses new exchanges.
    assert_error(bearer(token).get("/api/v1/me/"), 401)
    assert_error(exchange(issuer.sign()), 403)


def test_issued_tokens_are_purged_a_week_after_expiry(issuer, bound, alice):
    from datetime import timedelta

    from django.utils import timezone

    from idp import services
    from idp.tasks import purge_workload_tokens

    assert_ok(exchange(issuer.sign()))
    issued = APIToken.objects.get(workload_binding__isnull=False)
    personal, _ = services.create_api_token(alice)
    assert purge_workload_tokens() == 0
    gone = timezone.now() - timedelta(days=8)
    APIToken.objects.filter(pk__in=[issued.pk, personal.pk]).update(expires_at=gone)
    assert purge_workload_tokens() == 1
    assert list(APIToken.objects.values_list("pk", flat=True)) == [personal.pk]
