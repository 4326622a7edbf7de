"""API tokens looked up in the shared cache: a request served from it costs no query, and
every way a token stops being good (revoked, expired, its user or service account
deactivated, its binding removed, deleted) stops it on the very next request."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from idp import services, token_cache
from idp.choices import Role
from idp.models import APIToken
from tests.utils import assert_error, assert_ok

ME = "/api/v1/me/"


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def token_queries(client: APIClient) -> list[str]:
    """The SQL of one request to /me/ that reads the token table."""
    with CaptureQueriesContext(connection) as ctx:
        assert_ok(client.get(ME))
    return [q["sql"] for q in ctx.captured_queries if '"idp_apitoken"' in q["sql"]]


def test_a_token_is_read_from_the_cache_after_its_first_request(
    shared_cache: None, alice: Any
) -> None:
    _, raw = services.create_api_token(alice, name="cached")
    client = bearer(raw)
    assert token_queries(client)  # the first request reads it (and notes its use)
    assert token_queries(client) == []  # the next ones do not
    me = client.get(ME).json()
    assert me["user"]["username"] == "alice", me
    assert "payments" in str(me["teams"]), me


def test_nothing_is_cached_in_a_cache_only_this_process_sees(alice: Any) -> None:
    _, raw = services.create_api_token(alice, name="local")
    client = bearer(raw)
    token_queries(client)
    assert token_queries(client)  # local memory: another process could not invalidate it


def test_a_revoked_token_stops_working_at_once(
    shared_cache: None, alice: Any, django_capture_on_commit_callbacks: Any
) -> None:
    token, raw = services.create_api_token(alice, name="revoke-me")
    client = bearer(raw)
    assert_ok(client.get(ME))
    assert_ok(client.get(ME))  # now served from the cache
    with django_capture_on_commit_callbacks(execute=True):
        services.revoke_api_token(token, actor=alice)
    assert_error(client.get(ME), 401)


def test_a_revoke_that_does_not_run_its_commit_hooks_still_takes_effect(
    shared_cache: None, alice: Any
) -> None:
    """The invalidation happens at the write too, not only once the transaction commits."""
    token, raw = services.create_api_token(alice, name="revoke-me")
    client = bearer(raw)
    assert_ok(client.get(ME))
    services.revoke_api_token(token, actor=alice)
    assert_error(client.get(ME), 401)


def test_a_request_that_read_the_token_before_the_revoke_cannot_cache_it_after(
    shared_cache: None, alice: Any
) -> None:
    """A request that read the row just before a revoke committed must not put the token
    back into the cache after the revoke dropped it."""
    token, raw = services.create_api_token(alice, name="race")
    read_before = APIToken.objects.select_related("user").get(pk=token.pk)
    services.revoke_api_token(token, actor=alice)
    token_cache.add(read_before)  # the slow request's write, after the revoke
    assert token_cache.get(token.key_hash) is None
    assert_error(bearer(raw).get(ME), 401)


def test_an_expired_token_stops_working_at_once(shared_cache: None, alice: Any) -> None:
    token, raw = services.create_api_token(alice, name="short", lifetime=timedelta(hours=1))
    client = bearer(raw)
    assert_ok(client.get(ME))
    assert_ok(client.get(ME))
    assert token_cache.get(token.key_hash) is not None
    # Time passes beyond its expiry, with nothing written anywhere.
    real_now = timezone.now
    later = real_now() + timedelta(hours=1, seconds=1)
    try:
        timezone.now = lambda: later  # type: ignore[assignment]
        assert_error(client.get(ME), 401)
    finally:
        timezone.now = real_now  # type: ignore[assignment]


def test_a_deactivated_users_token_stops_working_at_once(shared_cache: None, alice: Any) -> None:
    _, raw = services.create_api_token(alice, name="person")
    client = bearer(raw)
    assert_ok(client.get(ME))
    assert_ok(client.get(ME))
    alice.is_active = False
    alice.save(update_fields=["is_active"])  # the Django admin's way, no service involved
    assert_error(client.get(ME), 401)


def test_a_user_deactivated_through_scim_loses_every_token_at_once(
    shared_cache: None, alice: Any
) -> None:
    from idp.auth.scim import deactivate_user

    clients = [bearer(services.create_api_token(alice, name=f"t{i}")[1]) for i in range(2)]
    for client in clients:
        assert_ok(client.get(ME))
        assert_ok(client.get(ME))
    deactivate_user(alice, actor=None)
    for client in clients:
        assert_error(client.get(ME), 401)


def test_a_disabled_service_accounts_token_stops_working_at_once(
    shared_cache: None, bob: Any, teams: Any
) -> None:
    from idp import service_accounts

    account = service_accounts.create_service_account(
        teams["payments"], "ci", role=Role.MEMBER, actor=bob
    )
    _, raw = service_accounts.create_service_account_token(account, name="ci", actor=bob)
    client = bearer(raw)
    assert_ok(client.get(ME))
    assert_ok(client.get(ME))
    service_accounts.set_service_account_enabled(account, False, actor=bob)
    assert_error(client.get(ME), 401)


def test_tokens_issued_through_a_removed_binding_stop_working_at_once(
    shared_cache: None, bob: Any, teams: Any
) -> None:
    from idp import service_accounts

    account = service_accounts.create_service_account(
        teams["payments"], "deployer", role=Role.MEMBER, actor=bob
    )
    binding = service_accounts.bind_github_repository(account, "example/app", actor=bob)
    _, raw = services.create_api_token(
        account.user, name="minted", workload_binding=binding, lifetime=timedelta(hours=1)
    )
    client = bearer(raw)
    assert_ok(client.get(ME))
    assert_ok(client.get(ME))
    service_accounts.unbind(binding, actor=bob)
    assert_error(client.get(ME), 401)


def test_a_deleted_token_or_user_stops_working_at_once(
    shared_cache: None, alice: Any, carol: Any
) -> None:
    token, raw = services.create_api_token(alice, name="gone")
    client = bearer(raw)
    assert_ok(client.get(ME))
    token.delete()
    assert_error(client.get(ME), 401)
    _, raw = services.create_api_token(carol, name="gone-with-her")
    client = bearer(raw)
    assert_ok(client.get(ME))
    carol.delete()
    assert_error(client.get(ME), 401)


def test_a_busy_token_notes_its_use_once_a_minute_not_per_request(
    shared_cache: None, alice: Any
) -> None:
    token, raw = services.create_api_token(alice, name="busy")
    client = bearer(raw)
    for _ in range(5):
        assert_ok(client.get(ME))
    token.refresh_from_db()
    assert token.last_used_at is not None
    with CaptureQueriesContext(connection) as ctx:
        for _ in range(5):
            assert_ok(client.get(ME))
    assert not [q for q in ctx.captured_queries if q["sql"].startswith("UPDATE")]


def test_no_password_hash_goes_into_the_cache(shared_cache: None, alice: Any) -> None:
    alice.set_password("correct horse battery staple")
    alice.save()
    token, raw = services.create_api_token(alice, name="no-secrets")
    assert_ok(bearer(raw).get(ME))
    cached = token_cache.get(token.key_hash)
    assert cached is not None
    assert "password" not in cached.user.__dict__
    assert cached.user.check_password("correct horse battery staple")  # read when asked
