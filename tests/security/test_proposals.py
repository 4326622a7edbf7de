"""A proposed change stays a proposal until its apply succeeds (finding 3), and sensitive
values never leave the platform (finding 6).

The attack: bob stages a new secret on a provisioned prod resource. It is rejected (or
withdrawn, cancelled, expired, or its apply fails), and later someone makes an innocent
change that gets approved: the applied secret must be the one that was approved before,
never bob's discarded one.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import pytest
from django.conf import settings
from django.utils import timezone

from catalog.sensitivity import MASK
from provisioning import actions
from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.crypto import decrypt_json
from provisioning.engine.backend import state_bucket, state_key
from provisioning.models import Run
from tests.provisioning.engine.conftest import log_of, request_module
from tests.utils import assert_error

from .conftest import frozen, make_staff

pytestmark = pytest.mark.django_db

ORIGINAL, EVIL = "s1-original-approved", "evil-staged-by-bob"


def api_url(resource: Any, action: str = "") -> str:
    return f"/api/v1/resources/{resource.pk}/" + (f"{action}/" if action else "")


def settle(resource: Any, drive: Any, status: str) -> list[Run]:
    runs = drive(resource)
    assert resource.status == status, (resource.last_error, [(r.kind, r.error) for r in runs])
    return runs


def secrets_of(resource: Any) -> tuple[dict[str, Any], str]:
    """(current sensitive parameters, the sensitive output Terraform derived from them)."""
    resource.refresh_from_db()
    return (
        decrypt_json(resource.sensitive_parameters),
        decrypt_json(resource.sensitive_outputs).get("token", ""),
    )


@pytest.fixture
def secret_prod(alice, dave, teams, envs, echo, state, drive) -> Any:
    """A provisioned prod resource whose approved secret is ORIGINAL."""
    resource = request_module(
        alice,
        teams["payments"],
        env="prod",
        name="app",
        parameters={"message": "m", "secret": ORIGINAL},
    )
    settle(resource, drive, ResourceStatus.AWAITING_APPROVAL)
    actions.approve(resource, actor=dave)
    settle(resource, drive, ResourceStatus.PROVISIONED)
    assert secrets_of(resource) == ({"secret": ORIGINAL}, f"tok-{ORIGINAL}")
    return resource


@pytest.fixture
def evil_staged(secret_prod, bob, api_as, drive) -> Any:
    """bob's change of the secret, planned and awaiting approval."""
    response = api_as(bob).patch(
        api_url(secret_prod), {"parameters": {"message": "m", "secret": EVIL}}, format="json"
    )
    assert response.status_code == 202, response.content
    assert EVIL not in response.content.decode()
    settle(secret_prod, drive, ResourceStatus.AWAITING_APPROVAL)
    return secret_prod


def innocent_change_is_applied(resource: Any, alice: Any, dave: Any, api_as: Any, drive: Any):
    """alice changes only the message; dave approves; it is applied."""
    response = api_as(alice).patch(
        api_url(resource), {"parameters": {"message": "m2"}}, format="json"
    )
    assert response.status_code == 202, response.content
    settle(resource, drive, ResourceStatus.AWAITING_APPROVAL)
    proposed = api_as(dave).get(api_url(resource)).json()["proposed"]
    assert proposed["changed"] == ["message"], proposed  # the secret is not part of it
    assert api_as(dave).post(api_url(resource, "approve")).status_code == 200
    settle(resource, drive, ResourceStatus.PROVISIONED)
    assert resource.outputs["echo"] == "m2"


def test_staged_secret_is_not_current_before_approval(evil_staged, dave, api_as) -> None:
    resource = evil_staged
    assert secrets_of(resource) == ({"secret": ORIGINAL}, f"tok-{ORIGINAL}")
    response = api_as(dave).get(api_url(resource))
    body = response.json()
    assert body["parameters"] == {"message": "m", "secret": MASK}  # current
    proposed = body["proposed"]
    assert proposed["parameters"] == {"message": "m", "secret": MASK}
    assert proposed["changed"] == ["secret"] and proposed["proposed_by"] == ["bob"]
    text = response.content.decode()
    assert EVIL not in text and ORIGINAL not in text


@pytest.mark.slow
def test_rejected_secret_is_never_applied_later(
    evil_staged, alice, bob, dave, api_as, drive
) -> None:
    response = api_as(dave).post(api_url(evil_staged, "reject"), {"reason": "no"})
    assert response.status_code == 200, response.content
    evil_staged.refresh_from_db()
    assert evil_staged.status == ResourceStatus.PROVISIONED
    assert api_as(dave).get(api_url(evil_staged)).json()["proposed"] is None
    innocent_change_is_applied(evil_staged, alice, dave, api_as, drive)
    assert secrets_of(evil_staged) == ({"secret": ORIGINAL}, f"tok-{ORIGINAL}")


@pytest.mark.slow
def test_withdrawn_secret_is_never_applied_later(
    evil_staged, alice, bob, dave, api_as, drive
) -> None:
    response = api_as(bob).post(api_url(evil_staged, "withdraw"))
    assert response.status_code == 200, response.content
    assert response.json()["status"] == ResourceStatus.PROVISIONED
    assert response.json()["proposed"] is None
    innocent_change_is_applied(evil_staged, alice, dave, api_as, drive)
    assert secrets_of(evil_staged) == ({"secret": ORIGINAL}, f"tok-{ORIGINAL}")


@pytest.mark.slow
def test_secret_of_a_cancelled_queued_apply_is_never_applied_later(
    evil_staged, alice, bob, dave, api_as, drive
) -> None:
    assert api_as(dave).post(api_url(evil_staged, "approve")).status_code == 200
    apply = evil_staged.runs.get(kind=RunKind.APPLY, status=RunStatus.QUEUED)
    response = api_as(bob).post(f"/api/v1/runs/{apply.pk}/cancel/")
    assert response.status_code == 200, response.content
    evil_staged.refresh_from_db()
    assert evil_staged.status == ResourceStatus.PROVISIONED
    assert secrets_of(evil_staged)[0] == {"secret": ORIGINAL}
    innocent_change_is_applied(evil_staged, alice, dave, api_as, drive)
    assert secrets_of(evil_staged) == ({"secret": ORIGINAL}, f"tok-{ORIGINAL}")


def test_secret_of_an_expired_plan_is_never_applied_later(
    evil_staged, alice, dave, api_as, drive
) -> None:
    plan = evil_staged.runs.filter(kind=RunKind.PLAN).latest("pk")
    ttl = timedelta(hours=settings.IDP_APPROVAL_TTL_HOURS)
    Run.objects.filter(pk=plan.pk).update(finished_at=timezone.now() - ttl - timedelta(minutes=5))
    assert actions.expire_pending_plans() == 1
    evil_staged.refresh_from_db()
    assert evil_staged.status == ResourceStatus.PROVISIONED
    before = frozen(evil_staged)
    assert_error(api_as(dave).post(api_url(evil_staged, "approve")), 409)  # nothing to approve
    assert frozen(evil_staged) == before
    innocent_change_is_applied(evil_staged, alice, dave, api_as, drive)
    assert secrets_of(evil_staged) == ({"secret": ORIGINAL}, f"tok-{ORIGINAL}")


def fail_the_apply(resource: Any, approver: Any, api_as: Any, drive: Any) -> None:
    """Approve, and make the apply fail in Terraform: another holder owns the S3 state lock.
    The lock is gone again afterwards."""
    s3 = boto3.client("s3", endpoint_url=settings.AWS_ENDPOINT_URL)
    lock_key = state_key(resource) + ".tflock"
    holder = {"ID": "someone-else", "Operation": "OperationTypeApply", "Who": "ops@elsewhere"}
    s3.put_object(Bucket=state_bucket(), Key=lock_key, Body=json.dumps(holder).encode())
    try:
        assert api_as(approver).post(api_url(resource, "approve")).status_code == 200
        (apply,) = settle(resource, drive, ResourceStatus.FAILED)
    finally:
        s3.delete_object(Bucket=state_bucket(), Key=lock_key)
    assert apply.kind == RunKind.APPLY and apply.status == RunStatus.FAILED
    assert "lock" in apply.error.lower(), apply.error


@pytest.mark.slow
def test_secret_of_a_failed_apply_is_never_applied_later(
    evil_staged, alice, dave, api_as, drive
) -> None:
    """The apply fails in Terraform: the resource is failed, and what it holds is still the
    approved configuration; a later innocent change applies the approved secret."""
    fail_the_apply(evil_staged, dave, api_as, drive)
    assert secrets_of(evil_staged) == ({"secret": ORIGINAL}, f"tok-{ORIGINAL}")
    innocent_change_is_applied(evil_staged, alice, dave, api_as, drive)
    assert secrets_of(evil_staged) == ({"secret": ORIGINAL}, f"tok-{ORIGINAL}")


def test_secret_of_a_failed_plan_is_never_applied_later(
    secret_prod, alice, bob, dave, api_as, drive
) -> None:
    """bob's change fails already in its plan (the state is locked by someone else)."""
    s3 = boto3.client("s3", endpoint_url=settings.AWS_ENDPOINT_URL)
    lock_key = state_key(secret_prod) + ".tflock"
    s3.put_object(Bucket=state_bucket(), Key=lock_key, Body=b'{"ID": "someone-else"}')
    try:
        api_as(bob).patch(
            api_url(secret_prod), {"parameters": {"message": "m", "secret": EVIL}}, format="json"
        )
        (plan,) = settle(secret_prod, drive, ResourceStatus.PROVISIONED)
    finally:
        s3.delete_object(Bucket=state_bucket(), Key=lock_key)
    assert plan.status == RunStatus.FAILED
    assert api_as(dave).get(api_url(secret_prod)).json()["proposed"] is None
    innocent_change_is_applied(secret_prod, alice, dave, api_as, drive)
    assert secrets_of(secret_prod) == ({"secret": ORIGINAL}, f"tok-{ORIGINAL}")


@pytest.mark.slow
def test_secret_of_a_cancelled_queued_plan_is_never_applied_later(
    secret_prod, alice, bob, dave, api_as, drive
) -> None:
    api_as(bob).patch(
        api_url(secret_prod), {"parameters": {"message": "m", "secret": EVIL}}, format="json"
    )
    plan = secret_prod.runs.get(kind=RunKind.PLAN, status=RunStatus.QUEUED)
    assert api_as(bob).post(f"/api/v1/runs/{plan.pk}/cancel/").status_code == 200
    secret_prod.refresh_from_db()
    assert secret_prod.status == ResourceStatus.PROVISIONED
    innocent_change_is_applied(secret_prod, alice, dave, api_as, drive)
    assert secrets_of(secret_prod) == ({"secret": ORIGINAL}, f"tok-{ORIGINAL}")


@pytest.mark.slow
def test_plan_again_after_a_rejection_plans_the_current_secret(
    evil_staged, alice, dave, api_as, drive
) -> None:
    assert api_as(dave).post(api_url(evil_staged, "reject"), {"reason": "no"}).status_code == 200
    assert api_as(alice).post(api_url(evil_staged, "plan")).status_code == 202
    settle(evil_staged, drive, ResourceStatus.PROVISIONED)  # nothing to change
    plan = evil_staged.runs.filter(kind=RunKind.PLAN).latest("pk")
    assert decrypt_json(plan.sensitive_parameters) == {"secret": ORIGINAL}
    assert secrets_of(evil_staged) == ({"secret": ORIGINAL}, f"tok-{ORIGINAL}")


def test_change_on_top_of_a_pending_secret_shows_it_and_its_author(
    evil_staged, alice, bob, dave, api_as, drive
) -> None:
    """A change made while bob's secret waits builds on it (changes stack): the reviewer
    sees the secret among the changed names and bob among the authors, and bob stays out."""
    api_as(alice).patch(api_url(evil_staged), {"parameters": {"message": "m2"}}, format="json")
    settle(evil_staged, drive, ResourceStatus.AWAITING_APPROVAL)
    proposed = api_as(dave).get(api_url(evil_staged)).json()["proposed"]
    assert proposed["changed"] == ["message", "secret"]
    assert proposed["proposed_by"] == ["alice", "bob"]
    assert secrets_of(evil_staged)[0] == {"secret": ORIGINAL}
    before = frozen(evil_staged)
    assert_error(api_as(bob).post(api_url(evil_staged, "approve")), 403)
    assert frozen(evil_staged) == before


@pytest.mark.slow
def test_secret_of_an_apply_with_an_expired_approval_is_never_applied_later(
    evil_staged, alice, dave, api_as, drive
) -> None:
    """An approval that expired before the apply ran fails the apply and drops the change
    (nothing was applied, so the resource stays provisioned as it was)."""
    approval = actions.approve(evil_staged, actor=dave).approval
    approval.expires_at = timezone.now() - timedelta(seconds=1)
    approval.save(update_fields=["expires_at"])
    (apply,) = settle(evil_staged, drive, ResourceStatus.PROVISIONED)
    assert apply.status == RunStatus.FAILED
    assert secrets_of(evil_staged)[0] == {"secret": ORIGINAL}
    innocent_change_is_applied(evil_staged, alice, dave, api_as, drive)
    assert secrets_of(evil_staged) == ({"secret": ORIGINAL}, f"tok-{ORIGINAL}")


@pytest.mark.slow
def test_retry_after_a_discarded_change_plans_the_current_secret(
    evil_staged, alice, dave, api_as, drive
) -> None:
    """After bob's change failed to apply, a retry plans what the resource holds (the
    approved secret), not bob's change."""
    fail_the_apply(evil_staged, dave, api_as, drive)
    assert api_as(alice).post(api_url(evil_staged, "retry")).status_code == 202
    # Terraform applied nothing of bob's change, so the retried plan of what the resource
    # holds has no changes and the resource is provisioned as it was.
    settle(evil_staged, drive, ResourceStatus.PROVISIONED)
    plan = evil_staged.runs.filter(kind=RunKind.PLAN).latest("pk")
    assert plan.created_by == alice
    assert decrypt_json(plan.sensitive_parameters) == {"secret": ORIGINAL}
    assert secrets_of(evil_staged) == ({"secret": ORIGINAL}, f"tok-{ORIGINAL}")


# --- sensitive values are never shown ---------------------------------------------------------


def test_sensitive_values_never_shown_on_any_surface(
    alice, bob, platform_admin, teams, envs, echo, state, drive, api_as, client_as
) -> None:
    secret = "hunter2-very-secret-value"
    resource = request_module(
        alice,
        teams["payments"],
        env="prod",
        name="app",
        parameters={"message": "m", "secret": secret},
    )
    (plan,) = settle(resource, drive, ResourceStatus.AWAITING_APPROVAL)
    # Also a pending change of the secret, so the proposed-change block has one.
    pages: dict[str, str] = {}

    def look(label: str) -> None:
        api = api_as(bob)
        detail = api.get(api_url(resource))
        pages[f"{label}: api detail"] = detail.content.decode()
        body = detail.json()
        if body["parameters"]:
            assert body["parameters"]["secret"] == MASK
        if body["proposed"]:
            assert body["proposed"]["parameters"]["secret"] == MASK
        pages[f"{label}: api list"] = api.get("/api/v1/resources/").content.decode()
        for run in resource.runs.all():
            pages[f"{label}: api run {run.pk}"] = api.get(
                f"/api/v1/runs/{run.pk}/"
            ).content.decode()
            pages[f"{label}: api log {run.pk}"] = api.get(
                f"/api/v1/runs/{run.pk}/log/"
            ).content.decode()
            pages[f"{label}: portal run {run.pk}"] = (
                client_as(bob).get(f"/resources/runs/{run.pk}/").content.decode()
            )
        portal = client_as(bob).get(f"/resources/{resource.pk}/")
        assert portal.status_code == 200
        pages[f"{label}: portal page"] = portal.content.decode()
        admin = client_as(make_staff(platform_admin)).get(
            f"/admin/provisioning/resource/{resource.pk}/change/"
        )
        assert admin.status_code == 200
        pages[f"{label}: admin page"] = admin.content.decode()
        pages[f"{label}: admin run"] = (
            client_as(platform_admin)
            .get(f"/admin/provisioning/run/{plan.pk}/change/")
            .content.decode()
        )

    look("first request")
    assert MASK in pages["first request: portal page"]
    assert MASK in pages["first request: admin page"]

    actions.approve(resource, actor=bob)
    settle(resource, drive, ResourceStatus.PROVISIONED)
    changed = "changed-secret-never-shown"
    actions.change_parameters(resource, {"message": "m", "secret": changed}, actor=alice)
    settle(resource, drive, ResourceStatus.AWAITING_APPROVAL)
    look("proposed change")
    assert pages["proposed change: api detail"].count(MASK) >= 3  # current, proposed, output

    leaks = {
        label: value
        for label, text in pages.items()
        for value in (secret, changed, f"tok-{secret}", f"tok-{changed}")
        if value in text
    }
    assert not leaks, leaks
    assert not log_of(plan).count(secret)
