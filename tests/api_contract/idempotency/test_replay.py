"""Idempotency-Key on the API's writes, one request after another: the same request is
answered again without acting again, another request with the key is a 422, a key expires,
and every write of the schema documents the header."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from catalog.models import Service
from idp import services
from idp.api.idempotency import purge_expired
from idp.jobs.sweep import housekeeping
from idp.models import APIToken, AuditEvent, IdempotencyKey
from idp.service_accounts import create_service_account
from provisioning.choices import RunKind, RunStatus
from provisioning.models import Approval, Run
from tests.provisioning.surfaces.conftest import make_version
from tests.utils import assert_error

from ..test_openapi import schema

Case = Callable[[pytest.FixtureRequest], tuple[Any, str, str, dict[str, Any]]]


def _token_create(request: pytest.FixtureRequest) -> tuple[Any, str, str, dict[str, Any]]:
    return request.getfixturevalue("alice"), "post", "/api/v1/tokens/", {"name": "ci"}


def _token_revoke(request: pytest.FixtureRequest) -> tuple[Any, str, str, dict[str, Any]]:
    alice = request.getfixturevalue("alice")
    token, _ = services.create_api_token(alice, name="old")
    return alice, "delete", f"/api/v1/tokens/{token.pk}/", {}


def _team_create(request: pytest.FixtureRequest) -> tuple[Any, str, str, dict[str, Any]]:
    return request.getfixturevalue("platform_admin"), "post", "/api/v1/teams/", {"slug": "ml"}


def _member_add(request: pytest.FixtureRequest) -> tuple[Any, str, str, dict[str, Any]]:
    request.getfixturevalue("carol")
    body = {"username": "carol", "role": "viewer"}
    return (
        request.getfixturevalue("platform_admin"),
        "post",
        "/api/v1/teams/payments/members/",
        body,
    )


def _service_account(request: pytest.FixtureRequest) -> tuple[Any, str, str, dict[str, Any]]:
    url = "/api/v1/teams/payments/service-accounts/"
    return request.getfixturevalue("bob"), "post", url, {"name": "deployer"}


def _service_create(request: pytest.FixtureRequest) -> tuple[Any, str, str, dict[str, Any]]:
    body = {"slug": "checkout", "name": "Checkout", "team": "payments"}
    return request.getfixturevalue("bob"), "post", "/api/v1/services/", body


def _approve(request: pytest.FixtureRequest) -> tuple[Any, str, str, dict[str, Any]]:
    resource = request.getfixturevalue("awaiting")
    body = {"reason": "looks right"}
    return request.getfixturevalue("bob"), "post", f"/api/v1/resources/{resource.pk}/approve/", body


def _reject(request: pytest.FixtureRequest) -> tuple[Any, str, str, dict[str, Any]]:
    resource = request.getfixturevalue("awaiting")
    body = {"reason": "too big"}
    return request.getfixturevalue("bob"), "post", f"/api/v1/resources/{resource.pk}/reject/", body


def _change(request: pytest.FixtureRequest) -> tuple[Any, str, str, dict[str, Any]]:
    resource = request.getfixturevalue("provisioned")
    body = {"parameters": {"message": "changed"}}
    return request.getfixturevalue("alice"), "patch", f"/api/v1/resources/{resource.pk}/", body


def _replan(request: pytest.FixtureRequest) -> tuple[Any, str, str, dict[str, Any]]:
    resource = request.getfixturevalue("provisioned")
    return request.getfixturevalue("alice"), "post", f"/api/v1/resources/{resource.pk}/plan/", {}


def _destroy(request: pytest.FixtureRequest) -> tuple[Any, str, str, dict[str, Any]]:
    resource = request.getfixturevalue("provisioned")
    return request.getfixturevalue("bob"), "delete", f"/api/v1/resources/{resource.pk}/", {}


def _cancel(request: pytest.FixtureRequest) -> tuple[Any, str, str, dict[str, Any]]:
    resource = request.getfixturevalue("provisioned")
    run = request.getfixturevalue("make_run")(resource, kind=RunKind.PLAN, status=RunStatus.QUEUED)
    return request.getfixturevalue("alice"), "post", f"/api/v1/runs/{run.pk}/cancel/", {}


def _validate(request: pytest.FixtureRequest) -> tuple[Any, str, str, dict[str, Any]]:
    request.getfixturevalue("template")
    url = "/api/v1/templates/example-config/validate/"
    return request.getfixturevalue("alice"), "post", url, {"parameters": {"message": "hi"}}


def _team_update(request: pytest.FixtureRequest) -> tuple[Any, str, str, dict[str, Any]]:
    request.getfixturevalue("teams")
    url, body = "/api/v1/teams/payments/", {"name": "Payments team"}
    return request.getfixturevalue("platform_admin"), "patch", url, body


def _member_role(request: pytest.FixtureRequest) -> tuple[Any, str, str, dict[str, Any]]:
    request.getfixturevalue("alice")
    url, body = "/api/v1/teams/payments/members/alice/", {"role": "maintainer"}
    return request.getfixturevalue("platform_admin"), "patch", url, body


def _member_remove(request: pytest.FixtureRequest) -> tuple[Any, str, str, dict[str, Any]]:
    request.getfixturevalue("alice")
    url = "/api/v1/teams/payments/members/alice/"
    return request.getfixturevalue("platform_admin"), "delete", url, {}


def _account(request: pytest.FixtureRequest) -> tuple[Any, str]:
    bob, teams = request.getfixturevalue("bob"), request.getfixturevalue("teams")
    create_service_account(teams["payments"], "deployer", actor=bob)
    return bob, "/api/v1/teams/payments/service-accounts/deployer/"


def _account_token(request: pytest.FixtureRequest) -> tuple[Any, str, str, dict[str, Any]]:
    bob, url = _account(request)
    return bob, "post", url + "tokens/", {"name": "ci"}


def _account_update(request: pytest.FixtureRequest) -> tuple[Any, str, str, dict[str, Any]]:
    bob, url = _account(request)
    return bob, "patch", url, {"description": "Deploys checkout"}


def _account_delete(request: pytest.FixtureRequest) -> tuple[Any, str, str, dict[str, Any]]:
    bob, url = _account(request)
    return bob, "delete", url, {}


def _service(request: pytest.FixtureRequest) -> Any:
    teams = request.getfixturevalue("teams")
    Service.objects.create(team=teams["payments"], slug="checkout", name="Checkout")
    return request.getfixturevalue("bob")


def _service_update(request: pytest.FixtureRequest) -> tuple[Any, str, str, dict[str, Any]]:
    return _service(request), "patch", "/api/v1/services/checkout/", {"description": "Pays"}


def _service_archive(request: pytest.FixtureRequest) -> tuple[Any, str, str, dict[str, Any]]:
    return _service(request), "post", "/api/v1/services/checkout/archive/", {}


def _budget_create(request: pytest.FixtureRequest) -> tuple[Any, str, str, dict[str, Any]]:
    request.getfixturevalue("teams")
    body = {"team": "payments", "monthly_amount": "500"}
    return request.getfixturevalue("platform_admin"), "post", "/api/v1/budgets/", body


def _withdraw(request: pytest.FixtureRequest) -> tuple[Any, str, str, dict[str, Any]]:
    resource = request.getfixturevalue("awaiting")
    url = f"/api/v1/resources/{resource.pk}/withdraw/"
    return request.getfixturevalue("alice"), "post", url, {}


def _break_glass(request: pytest.FixtureRequest) -> tuple[Any, str, str, dict[str, Any]]:
    resource = request.getfixturevalue("awaiting")
    url = f"/api/v1/resources/{resource.pk}/break-glass/"
    return request.getfixturevalue("platform_admin"), "post", url, {"reason": "outage"}


def _fleet_start(request: pytest.FixtureRequest) -> tuple[Any, str, str, dict[str, Any]]:
    request.getfixturevalue("provisioned")
    make_version(request.getfixturevalue("template"), 2, extra="# version 2\n")
    body = {
        "template": "example-config",
        "version": "2",
        "selection": {"kind": "team", "teams": ["payments"]},
    }
    return request.getfixturevalue("bob"), "post", "/api/v1/fleet-upgrades/", body


CASES: dict[str, Case] = {
    "token create": _token_create,
    "token revoke": _token_revoke,
    "team create": _team_create,
    "member add": _member_add,
    "service account create": _service_account,
    "service create": _service_create,
    "approve": _approve,
    "reject": _reject,
    "change": _change,
    "re-plan": _replan,
    "destroy": _destroy,
    "run cancel": _cancel,
    "template validate": _validate,
    "team update": _team_update,
    "member role": _member_role,
    "member remove": _member_remove,
    "service account token": _account_token,
    "service account update": _account_update,
    "service account delete": _account_delete,
    "service update": _service_update,
    "service archive": _service_archive,
    "budget create": _budget_create,
    "withdraw": _withdraw,
    "break-glass": _break_glass,
    "fleet start": _fleet_start,
}


def send(api: Any, method: str, url: str, body: dict[str, Any], key: str | None) -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return getattr(api, method)(url, body, format="json", **headers)


@pytest.mark.parametrize("case", list(CASES))
def test_the_same_request_again_is_answered_again_without_acting(
    case: str, request: pytest.FixtureRequest, api_as: Any
) -> None:
    user, method, url, body = CASES[case](request)
    api = api_as(user)
    first = send(api, method, url, body, "key-1")
    assert first.status_code < 300, first.content
    assert "Idempotent-Replayed" not in first
    events, runs = AuditEvent.objects.count(), Run.objects.count()

    again = send(api, method, url, body, "key-1")
    assert again.status_code == first.status_code
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert (AuditEvent.objects.count(), Run.objects.count()) == (events, runs)
    assert IdempotencyKey.objects.get(user=user, key="key-1").status_code == first.status_code


def test_the_key_with_another_body_or_path_is_a_422(api_as, alice) -> None:
    api = api_as(alice)
    assert send(api, "post", "/api/v1/tokens/", {"name": "one"}, "k").status_code == 201
    other_body = send(api, "post", "/api/v1/tokens/", {"name": "two"}, "k")
    body = assert_error(other_body, 422)
    assert "Idempotency-Key" in body["detail"]
    token = APIToken.objects.filter(user=alice, name="one").get()
    assert_error(send(api, "delete", f"/api/v1/tokens/{token.pk}/", {}, "k"), 422)
    assert set(APIToken.objects.filter(user=alice).values_list("name", flat=True)) == {
        "one",
        "test",
    }
    assert APIToken.objects.get(pk=token.pk).revoked_at is None


def test_keys_belong_to_their_principal(api_as, alice, bob) -> None:
    """bob's key of the same text is his own: his request acts, and sees nothing of alice's."""
    first = send(api_as(alice), "post", "/api/v1/tokens/", {"name": "ci"}, "shared")
    second = send(api_as(bob), "post", "/api/v1/tokens/", {"name": "ci"}, "shared")
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second
    assert first.json()["token"] != second.json()["token"]


def test_an_error_answer_is_replayed_too(api_as, alice, awaiting) -> None:
    """alice may not approve her own request: the same request again gets the same 403."""
    url = f"/api/v1/resources/{awaiting.pk}/approve/"
    first = send(api_as(alice), "post", url, {}, "mine")
    assert_error(first, 403)
    again = send(api_as(alice), "post", url, {}, "mine")
    assert (again.status_code, again.content) == (403, first.content)
    assert again["Idempotent-Replayed"] == "true"


def test_without_the_header_nothing_is_kept_and_a_bad_key_is_a_400(api_as, alice) -> None:
    api = api_as(alice)
    assert send(api, "post", "/api/v1/tokens/", {"name": "a"}, None).status_code == 201
    assert not IdempotencyKey.objects.exists()
    assert_error(send(api, "post", "/api/v1/tokens/", {"name": "b"}, "x" * 201), 400)
    assert_error(send(api, "post", "/api/v1/tokens/", {"name": "b"}, "with space"), 400)
    assert_error(send(api, "post", "/api/v1/tokens/", {"name": "b"}, ""), 400)
    assert not APIToken.objects.filter(name="b").exists()


def test_a_key_expires_and_housekeeping_purges_it(api_as, alice, settings) -> None:
    settings.IDP_IDEMPOTENCY_TTL_HOURS = 1
    api = api_as(alice)
    first = send(api, "post", "/api/v1/tokens/", {"name": "ci"}, "old-key")
    held = IdempotencyKey.objects.get(key="old-key")
    assert timedelta(minutes=59) < held.expires_at - held.started_at <= timedelta(hours=1)
    # Past its expiry the key is a new key: the request acts again.
    IdempotencyKey.objects.filter(pk=held.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    again = send(api, "post", "/api/v1/tokens/", {"name": "ci"}, "old-key")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert again.json()["token"] != first.json()["token"]
    # The jobs' housekeeping deletes what expired, and only that.
    IdempotencyKey.objects.create(
        user=alice,
        key="gone",
        method="POST",
        path="/api/v1/tokens/",
        fingerprint="0" * 64,
        started_at=timezone.now() - timedelta(hours=2),
        expires_at=timezone.now() - timedelta(hours=1),
    )
    assert housekeeping()["idempotency_keys"] == {"purged": 1}
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["old-key"]
    assert purge_expired(now=timezone.now() + timedelta(hours=2)) == 1


def test_a_new_token_is_not_stored_in_clear(api_as, alice) -> None:
    answer = send(api_as(alice), "post", "/api/v1/tokens/", {"name": "ci"}, "secret-key")
    raw = answer.json()["token"]
    held = IdempotencyKey.objects.get(key="secret-key")
    assert held.answer and raw not in held.answer and raw[4:20] not in held.answer
    # Nor anywhere in the row, read as the database holds it.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM idp_idempotencykey")
        assert raw not in repr(cursor.fetchall())
    again = send(api_as(alice), "post", "/api/v1/tokens/", {"name": "ci"}, "secret-key")
    assert again.json()["token"] == raw


def test_a_repeated_approval_counts_once(api_as, bob, awaiting) -> None:
    url = f"/api/v1/resources/{awaiting.pk}/approve/"
    for _ in range(3):
        assert send(api_as(bob), "post", url, {}, "approve-1").status_code == 200
    assert Approval.objects.filter(resource=awaiting).count() == 1


# Writes without a principal to scope a key to: the sign-in exchanges.
UNKEYED = {
    "POST /api/v1/auth/token/",
    "POST /api/v1/auth/token/refresh/",
    "POST /api/v1/auth/github-oidc/",
}


def test_every_write_documents_the_header_and_its_422() -> None:
    missing = []
    for path, item in schema.raw_schema["paths"].items():
        for method, operation in item.items():
            if method not in {"post", "put", "patch", "delete"}:
                continue
            name = f"{method.upper()} {path}"
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            if name in UNKEYED:
                assert "Idempotency-Key" not in names, name
            elif "Idempotency-Key" not in names:
                missing.append(name)
            elif name != "POST /api/v1/resources/":
                assert "422" in operation["responses"], name
    assert not missing


def test_a_server_error_frees_the_key(api_as, alice, monkeypatch) -> None:
    """A 500 is not an answer to repeat: the same request with the key may run again."""
    from idp.api import views

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the database went away")

    api = api_as(alice)
    with monkeypatch.context() as patch:
        patch.setattr(views.services, "create_api_token", broken)
        with pytest.raises(RuntimeError):
            send(api, "post", "/api/v1/tokens/", {"name": "ci"}, "retry-me")
    assert not IdempotencyKey.objects.filter(key="retry-me").exists()
    again = send(api, "post", "/api/v1/tokens/", {"name": "ci"}, "retry-me")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
