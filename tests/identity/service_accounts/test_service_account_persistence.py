"""A service account's own token cannot make itself last (issue 24, finding 7): it mints no
token that outlives the one it acts with, binds no repository, and manages no service account
(its own or another's); people manage service accounts. Through the API, with its own token
and with the token its CI traded an OIDC token for."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from idp import service_accounts, services
from idp.choices import Role
from idp.models import APIToken, ServiceAccount, WorkloadIdentityBinding
from tests.utils import assert_error, assert_ok

from .github_oidc import bearer, exchange

BASE = "/api/v1/teams/payments/service-accounts/"


@pytest.fixture
def deployer(bob: Any, teams: Any) -> ServiceAccount:
    """payments' `deploy`, a maintainer service account (the strongest role it can have)."""
    return service_accounts.create_service_account(
        teams["payments"], "deploy", role=Role.MAINTAINER, actor=bob
    )


@pytest.fixture
def hour_token(deployer: ServiceAccount, bob: Any) -> tuple[APIToken, str]:
    return service_accounts.create_service_account_token(
        deployer, name="hour", lifetime=timedelta(hours=1), actor=bob
    )


def test_its_own_hour_long_token_mints_no_year_long_token(deployer, hour_token):
    hour, raw = hour_token
    api = bearer(raw)
    made = assert_ok(api.post(f"{BASE}deploy/tokens/", {"expires_in": "365d"}), 201)
    minted = APIToken.objects.get(pk=made["id"])
    assert minted.expires_at is not None and hour.expires_at is not None
    assert minted.expires_at <= hour.expires_at
    # Chained, it never gets further: each child ends where its parent does.
    child = assert_ok(bearer(made["token"]).post("/api/v1/tokens/", {"expires_in": "90d"}), 201)
    assert APIToken.objects.get(pk=child["id"]).expires_at <= hour.expires_at


def test_it_binds_no_repository_and_manages_no_service_account(deployer, hour_token, bob, teams):
    _, raw = hour_token
    api = bearer(raw)
    attack = {"repository": "mallory/backdoor"}
    assert_error(api.post(f"{BASE}deploy/github-bindings/", attack), 403)
    assert not WorkloadIdentityBinding.objects.exists()
    assert_error(api.post(BASE, {"name": "shadow"}), 403)
    # Another account of its team: no tokens, no changes, no bindings.
    other = service_accounts.create_service_account(teams["payments"], "ci", actor=bob)
    assert_error(api.post(f"{BASE}ci/tokens/", {"expires_in": "1h"}), 403)
    assert_error(api.post(f"{BASE}ci/github-bindings/", attack), 403)
    assert_error(api.patch(f"{BASE}ci/", {"role": "maintainer"}), 403)
    assert_error(api.patch(f"{BASE}deploy/", {"description": "mine now"}), 403)
    assert not APIToken.objects.filter(user=other.user).exists()
    # A binding its maintainer made stays theirs to remove.
    made = service_accounts.bind_github_repository(deployer, "acme/deploy", actor=bob)
    assert_error(api.delete(f"{BASE}deploy/github-bindings/{made.pk}/"), 403)
    assert WorkloadIdentityBinding.objects.filter(pk=made.pk).exists()


def test_the_token_its_ci_traded_for_cannot_persist_either(issuer, deployer, bob):
    service_accounts.bind_github_repository(deployer, "acme/payments-api", actor=bob)
    body = assert_ok(exchange(issuer.sign()))
    issued = APIToken.objects.get(workload_binding__isnull=False)
    api = bearer(body["token"])
    made = assert_ok(api.post(f"{BASE}deploy/tokens/", {"expires_in": "365d"}), 201)
    minted = APIToken.objects.get(pk=made["id"])
    assert issued.expires_at is not None and minted.expires_at is not None
    assert minted.expires_at <= issued.expires_at
    assert minted.expires_at - timezone.now() <= timedelta(hours=1)
    assert_error(api.post(f"{BASE}deploy/github-bindings/", {"repository": "mallory/ci"}), 403)


def test_ops_and_people_still_manage_it(deployer, bob):
    """The refusals are about service accounts acting, not about the account."""
    token, _ = service_accounts.create_service_account_token(
        deployer, lifetime=timedelta(days=30), actor=bob
    )
    assert token.expires_at is not None
    assert token.expires_at - timezone.now() > timedelta(days=29)
    service_accounts.bind_github_repository(deployer, "acme/ops", actor=None)
    assert services.revoke_api_token(token, actor=bob).revoked_at is not None
