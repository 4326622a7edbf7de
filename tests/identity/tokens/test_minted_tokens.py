"""A token makes tokens with no more power than its own, whichever endpoint it calls (issue 24,
finding 7): a short-lived, team-limited or narrow token of a person cannot give a service
account a longer-lived or wider token. Lifetimes are capped at the minting token's expiry
(the answer's `expires_at` says so); wider scopes are refused (403)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from idp import service_accounts, services
from idp.models import APIToken
from tests.helpers import bearer
from tests.utils import assert_error, assert_ok

SA_TOKENS = "/api/v1/teams/payments/service-accounts/ci/tokens/"


def test_a_one_hour_team_token_cannot_make_a_year_long_service_account_token(bob, teams):
    service_accounts.create_service_account(teams["payments"], "ci", actor=bob)
    hour, raw = services.create_api_token(
        bob, scopes=["read", "write"], team=teams["payments"], lifetime=timedelta(hours=1)
    )
    made = assert_ok(bearer(raw).post(SA_TOKENS, {"name": "forever", "expires_in": "365d"}), 201)
    minted = APIToken.objects.get(pk=made["id"])
    assert minted.expires_at is not None and hour.expires_at is not None
    assert minted.expires_at <= hour.expires_at
    assert minted.expires_at - timezone.now() < timedelta(hours=1, minutes=1)
    assert minted.team == teams["payments"]
    # The portal and the personal-token endpoint answer the same way.
    mine = assert_ok(bearer(raw).post("/api/v1/tokens/", {"expires_in": "365d"}), 201)
    assert APIToken.objects.get(pk=mine["id"]).expires_at <= hour.expires_at


def test_a_narrow_token_cannot_give_a_service_account_wider_scopes(bob, teams):
    service_accounts.create_service_account(teams["payments"], "ci", actor=bob)
    _, raw = services.create_api_token(bob, scopes=["write"], lifetime=timedelta(hours=1))
    body = assert_error(bearer(raw).post(SA_TOKENS, {"scopes": ["read", "write"]}), 403)
    assert "'read'" in body["detail"]
    # Unasked, the new token gets what both allow, never more.
    made = assert_ok(bearer(raw).post(SA_TOKENS, {"name": "narrow"}), 201)
    assert made["scopes"] == ["write"]


def test_an_unexpiring_session_still_chooses_the_lifetime(bob, teams, client_as):
    """People at the keyboard (portal session) are not a token: their choice stands."""
    service_accounts.create_service_account(teams["payments"], "ci", actor=bob)
    answer = client_as(bob).post(
        "/teams/payments/service-accounts/ci/tokens/", {"name": "deploy", "expires_in": "30d"}
    )
    assert answer.status_code == 302
    minted = APIToken.objects.get(name="deploy")
    assert minted.expires_at is not None
    assert minted.expires_at - timezone.now() > timedelta(days=29)
