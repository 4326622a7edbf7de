"""Attacks on the GitHub OIDC exchange (issue 24, findings 5 and 6): a token traded twice
across processes, a repository name bound by two teams, a repository re-created under a
trusted name. Every attack goes through `POST /api/v1/auth/github-oidc/` with tokens of a
local issuer, and through the bindings API."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from idp import service_accounts
from idp.choices import Role
from idp.models import APIToken, WorkloadIdentityBinding
from tests.utils import assert_error, assert_ok

from .github_oidc import OWNER_ID, REPOSITORY_ID, exchange

# Every process keeps its own cache when no shared one is configured: the dummy cache
# (which remembers nothing) stands for "this process never saw that token".
PROCESS_LOCAL_CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
SEARCH_BASE = "/api/v1/teams/search/service-accounts/"
PAYMENTS_BASE = "/api/v1/teams/payments/service-accounts/"


@pytest.fixture
def dave(make_user: Any, teams: Any) -> Any:
    """A maintainer of search."""
    return make_user("dave", team=teams["search"], role=Role.MAINTAINER)


def issued() -> int:
    return APIToken.objects.filter(workload_binding__isnull=False).count()


# --- finding 5: one OIDC token, one platform token -------------------------------------


def test_a_token_is_exchanged_once_even_when_the_cache_forgets(issuer, bound):
    once = issuer.sign()
    assert_ok(exchange(once))
    cache.clear()  # another gunicorn worker: its cache never saw the token
    assert "already exchanged" in assert_error(exchange(once), 401)["detail"]
    assert issued() == 1


def test_process_local_caches_never_let_a_token_through_twice(issuer, bound, settings):
    settings.CACHES = PROCESS_LOCAL_CACHES
    once = issuer.sign()
    assert_ok(exchange(once))
    assert_error(exchange(once), 401)
    # Tokens without a jti cannot be told apart, so they are refused outright.
    assert_error(exchange(issuer.sign(jti=None)), 401)
    assert issued() == 1


@pytest.mark.django_db(transaction=True)
def test_two_parallel_exchanges_of_one_token_give_one_platform_token(
    issuer, bound, settings
) -> None:
    settings.CACHES = PROCESS_LOCAL_CACHES
    assert_error(exchange("not-a-jwt"), 401)  # URLs and metrics loaded before the race
    once = issuer.sign()
    start = threading.Barrier(2)
    statuses: list[int] = []
    failures: list[BaseException] = []

    def trade() -> None:
        try:
            start.wait(5)
            # 503 means "retry" (SQLite's in-memory test database refuses a second writer
            # at once); the answer that counts is the first that is not 503.
            for _ in range(50):
                answer = exchange(once).status_code
                if answer != 503:
                    break
                time.sleep(0.05)
            statuses.append(answer)
        except BaseException as exc:  # reported below, not lost in the thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=trade) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not failures, failures
    assert sorted(statuses) == [200, 401]
    assert issued() == 1


def test_used_token_records_are_pruned_once_the_token_expired(issuer, bound):
    from idp.models import UsedOIDCToken
    from idp.tasks import purge_workload_tokens

    assert_ok(exchange(issuer.sign()))
    record = UsedOIDCToken.objects.get()
    # Kept while the OIDC token could still be presented (its exp, plus the leeway).
    assert record.expires_at > timezone.now() + timedelta(minutes=4)
    purge_workload_tokens()
    assert UsedOIDCToken.objects.count() == 1
    UsedOIDCToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    purge_workload_tokens()
    assert not UsedOIDCToken.objects.exists()


# --- finding 6: a repository belongs to one team, and to one GitHub repository ---------


def test_another_team_cannot_bind_a_repository_already_bound(issuer, api_as, bob, dave):
    assert_ok(api_as(dave).post(SEARCH_BASE, {"name": "squat"}), 201)
    assert_ok(
        api_as(dave).post(f"{SEARCH_BASE}squat/github-bindings/", {"repository": "acme/shared"}),
        201,
    )
    assert_ok(api_as(bob).post(PAYMENTS_BASE, {"name": "ci"}), 201)
    for spelling in ("acme/shared", "ACME/Shared"):
        body = assert_error(
            api_as(bob).post(f"{PAYMENTS_BASE}ci/github-bindings/", {"repository": spelling}),
            400,
            "repository",
        )
        assert "another team" in body["detail"]["repository"][0]
        assert "search" not in body["detail"]["repository"][0]  # never names the other team
    # Within one team a repository may be bound again (another account, another branch).
    assert_ok(api_as(dave).post(SEARCH_BASE, {"name": "release"}), 201)
    assert_ok(
        api_as(dave).post(
            f"{SEARCH_BASE}release/github-bindings/",
            {"repository": "acme/shared", "ref_pattern": "refs/tags/*"},
        ),
        201,
    )
    # The name stays search's alone: its CI trades tokens as before, for either binding.
    shared = {"repository": "acme/shared", "repository_id": "700777"}
    assert assert_ok(exchange(issuer.sign(**shared)))["service_account"] == "sa:search:squat"
    tagged = issuer.sign(**shared, ref="refs/tags/v1")
    assert assert_ok(exchange(tagged))["service_account"] == "sa:search:squat"


def test_bindings_of_one_name_in_two_teams_serve_neither(issuer, bob, dave, teams):
    """Rows left from before the rule (or a race between two teams): the oldest no longer
    wins; the exchange refuses until a platform admin removes one."""
    squat = service_accounts.create_service_account(teams["search"], "squat", actor=dave)
    WorkloadIdentityBinding.objects.create(
        service_account=squat, repository="acme/payments-api", scopes=["read", "write"]
    )
    ci = service_accounts.create_service_account(teams["payments"], "ci", actor=bob)
    WorkloadIdentityBinding.objects.create(
        service_account=ci, repository="acme/payments-api", scopes=["read", "write"]
    )
    body = assert_error(exchange(issuer.sign()), 403)
    assert "more than one team" in body["detail"]
    assert issued() == 0


def test_a_repository_recreated_under_the_same_name_is_refused(issuer, bound, api_as, bob):
    assert_ok(exchange(issuer.sign()))  # the first exchange pins the binding (trust on first use)
    binding = WorkloadIdentityBinding.objects.get(service_account=bound)
    assert (binding.repository_id, binding.repository_owner_id) == (
        int(REPOSITORY_ID),
        int(OWNER_ID),
    )
    shown = assert_ok(api_as(bob).get(f"{PAYMENTS_BASE}ci/"))["workload_bindings"][0]
    assert shown["repository_id"] == int(REPOSITORY_ID)
    assert shown["repository_owner_id"] == int(OWNER_ID)

    # acme/payments-api deleted and created again: same name, new id.
    body = assert_error(exchange(issuer.sign(repository_id="700999")), 403)
    assert "repository id" in body["detail"]
    # The organisation deleted and its name taken by someone else: new owner id.
    assert_error(exchange(issuer.sign(repository_owner_id="6666")), 403)
    assert issued() == 1
    assert_ok(exchange(issuer.sign()))


def test_ids_given_at_binding_time_are_enforced_from_the_first_exchange(issuer, api_as, bob):
    assert_ok(api_as(bob).post(PAYMENTS_BASE, {"name": "ci"}), 201)
    made = assert_ok(
        api_as(bob).post(
            f"{PAYMENTS_BASE}ci/github-bindings/",
            {
                "repository": "acme/payments-api",
                "repository_id": int(REPOSITORY_ID),
                "repository_owner_id": int(OWNER_ID),
            },
        ),
        201,
    )
    assert made["repository_id"] == int(REPOSITORY_ID)
    assert_error(exchange(issuer.sign(repository_id="700999")), 403)
    assert_ok(exchange(issuer.sign()))
    # Another binding of the name in the team keeps the pinned ids; other ones are refused.
    again = {"repository": "acme/payments-api", "ref_pattern": "refs/tags/*"}
    assert assert_ok(api_as(bob).post(f"{PAYMENTS_BASE}ci/github-bindings/", again), 201)[
        "repository_id"
    ] == int(REPOSITORY_ID)
    other = {**again, "ref_pattern": "refs/heads/*", "repository_id": 700999}
    assert_error(
        api_as(bob).post(f"{PAYMENTS_BASE}ci/github-bindings/", other), 400, "repository_id"
    )
    # Bad ids name their field.
    assert_error(
        api_as(bob).post(
            f"{PAYMENTS_BASE}ci/github-bindings/",
            {"repository": "acme/other", "repository_id": -3},
        ),
        400,
        "repository_id",
    )


def test_a_renamed_repository_bound_by_another_team_is_refused_by_id(issuer, bound, api_as, dave):
    assert_ok(exchange(issuer.sign()))  # payments' binding pinned to acme/payments-api's id
    assert_ok(api_as(dave).post(SEARCH_BASE, {"name": "squat"}), 201)
    renamed = {"repository": "acme/payments-service", "repository_id": int(REPOSITORY_ID)}
    assert_error(
        api_as(dave).post(f"{SEARCH_BASE}squat/github-bindings/", renamed), 400, "repository"
    )


def test_tokens_without_repository_ids_are_refused(issuer, bound):
    assert_error(exchange(issuer.sign(repository_id=None)), 401)
    assert_error(exchange(issuer.sign(repository_owner_id=None)), 401)
    assert_error(exchange(issuer.sign(repository_id="not-a-number")), 401)
    assert issued() == 0
    # Nothing was pinned by the refused tokens.
    assert WorkloadIdentityBinding.objects.get(service_account=bound).repository_id is None
