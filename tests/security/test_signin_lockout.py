"""Sign-in lockout (django-axes) counts per account and per client address, separately.

Whatever identifier is typed (username in any case, or e-mail address) counts against the
one account it names; failures from one address lock that address for every account, but
never an account signing in from its own address.
"""

from __future__ import annotations

from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client

ALICE_IP = "203.0.113.10"
STRANGER_IP = "198.51.100.66"
OTHER_IP = "192.0.2.7"


@pytest.fixture(autouse=True)
def axes_only(settings: Any) -> None:
    """allauth's own rate limit off, so each test sees django-axes alone."""
    settings.ACCOUNT_RATE_LIMITS = False


def sign_in(login: str, password: str, ip: str) -> int:
    response = Client(REMOTE_ADDR=ip).post(
        "/accounts/login/", {"login": login, "password": password}
    )
    return int(response.status_code)


def fail(times: int, login: str, ip: str) -> None:
    """Wrong passwords; the one that reaches the limit is answered with the lockout."""
    for _ in range(times):
        assert sign_in(login, "wrong", ip) in (200, 429)


def test_locked_as_username_is_locked_by_email_too(alice, settings):
    fail(settings.AXES_FAILURE_LIMIT, "alice", STRANGER_IP)
    assert sign_in("alice@example.com", "pw-alice", ALICE_IP) == 429
    assert sign_in("ALICE", "pw-alice", OTHER_IP) == 429
    assert set(AccessAttempt.objects.values_list("username", flat=True)) == {"alice"}


def test_failures_by_email_and_username_add_up_on_one_account(alice, settings):
    limit = settings.AXES_FAILURE_LIMIT
    fail(limit - 2, "Alice@Example.com", STRANGER_IP)
    fail(1, "alice", OTHER_IP)
    assert sign_in("alice", "pw-alice", ALICE_IP) == 302  # still under the limit: resets it
    fail(limit - 1, "alice@example.com", STRANGER_IP)
    fail(1, "ALICE", OTHER_IP)
    assert sign_in("alice", "pw-alice", ALICE_IP) == 429


def test_a_strangers_address_is_locked_without_locking_alice(alice, carol, settings):
    # A spray of names from one address locks that address, for any account...
    for n in range(settings.AXES_FAILURE_LIMIT):
        fail(1, f"nobody{n}", STRANGER_IP)
    assert sign_in("carol", "pw-carol", STRANGER_IP) == 429
    # ...while alice and carol sign in from their own addresses.
    assert sign_in("alice@example.com", "pw-alice", ALICE_IP) == 302
    assert sign_in("carol", "pw-carol", OTHER_IP) == 302


def test_an_unknown_identifier_counts_as_itself(db, settings):
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        fail(1, "Ghost@Nowhere.test", f"192.0.2.{10 + n}")
    assert set(AccessAttempt.objects.values_list("username", flat=True)) == {"ghost@nowhere.test"}
    fail(1, "ghost@nowhere.test", "192.0.2.99")
    assert sign_in("ghost@nowhere.test", "guess", OTHER_IP) == 429


def test_a_locked_account_gets_no_jwt_either(alice, settings, client):
    fail(settings.AXES_FAILURE_LIMIT, "alice", STRANGER_IP)
    response = Client(REMOTE_ADDR=ALICE_IP).post(
        "/api/v1/auth/token/",
        {"username": "alice@example.com", "password": "pw-alice"},
        content_type="application/json",
    )
    assert response.status_code in (401, 403, 429), response.content
    assert "access" not in response.json()
