"""Approval in an environment that asks for it: four eyes, reasons, expiry, changed plans."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from idp.choices import Role
from idp.services import Conflict, Forbidden, ServiceError
from provisioning import actions
from provisioning.choices import ApprovalDecision, ResourceStatus, RunKind, RunStatus
from provisioning.crypto import decrypt_bytes, encrypt_bytes
from provisioning.models import Run

from .conftest import request_module


def request_prod(actor: Any, team: Any, name: str = "db") -> Any:
    return request_module(actor, team, env="prod", name=name, message="to prod")


@pytest.fixture
def awaiting(alice, teams, envs, echo, state, drive) -> Any:
    resource = request_prod(alice, teams["payments"])
    (plan,) = drive(resource)
    assert plan.status == RunStatus.SUCCEEDED, plan.error
    assert resource.status == ResourceStatus.AWAITING_APPROVAL
    return resource


@pytest.mark.django_db
def test_four_eyes_then_apply_of_the_approved_plan(
    awaiting, alice, bob, make_user, teams, drive
) -> None:
    resource = awaiting
    plan = resource.runs.get()
    assert plan.plan_summary["requires_approval"] is True
    assert not resource.runs.filter(kind=RunKind.APPLY).exists()  # nothing applied yet
    member = make_user("dave", team=teams["payments"], role=Role.MEMBER)

    with pytest.raises(Forbidden):
        actions.approve(resource, actor=alice)  # the requester
    with pytest.raises(Forbidden):
        actions.approve(resource, actor=member)  # role too low
    assert actions.allowed_actions(resource, alice) & {"approve", "reject"} == set()
    assert {"approve", "reject"} <= actions.allowed_actions(resource, bob)

    approval = actions.approve(resource, actor=bob, reason="looks fine").approval
    assert approval.decision == ApprovalDecision.APPROVED
    assert approval.plan_hash == plan.plan_hash and approval.expires_at > timezone.now()
    with pytest.raises(Conflict):
        actions.approve(resource, actor=bob)  # approving twice
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.APPLYING

    (apply,) = drive(resource)
    assert apply.kind == RunKind.APPLY and apply.plan_run_id == plan.pk
    assert apply.status == RunStatus.SUCCEEDED, apply.error
    assert resource.status == ResourceStatus.PROVISIONED
    assert resource.outputs["echo"] == "to prod"


@pytest.mark.django_db
def test_platform_admin_may_approve(awaiting, platform_admin, drive) -> None:
    actions.approve(awaiting, actor=platform_admin)
    drive(awaiting)
    assert awaiting.status == ResourceStatus.PROVISIONED


@pytest.mark.django_db
def test_reject_needs_a_reason_and_ends_the_request(awaiting, bob, carol) -> None:
    with pytest.raises(ServiceError) as err:
        actions.reject(awaiting, actor=bob, reason="  ")
    assert err.value.field == "reason" and err.value.status == 400
    with pytest.raises(Forbidden):
        actions.reject(awaiting, actor=carol, reason="not my team")
    approval = actions.reject(awaiting, actor=bob, reason="too big").approval
    assert approval.decision == ApprovalDecision.REJECTED and approval.reason == "too big"
    awaiting.refresh_from_db()
    assert awaiting.status == ResourceStatus.REJECTED
    with pytest.raises(Conflict):
        actions.approve(awaiting, actor=bob)  # wrong state
    assert not Run.objects.filter(resource=awaiting, kind=RunKind.APPLY).exists()


@pytest.mark.django_db
def test_changed_plan_file_is_refused_and_replanned(awaiting, bob, drive) -> None:
    plan = awaiting.runs.get()
    actions.approve(awaiting, actor=bob)
    # Someone with the database and the key swaps the stored plan file for another one.
    original = decrypt_bytes(plan.plan_file)
    assert original is not None and b"to prod" not in bytes(plan.plan_file)  # stored encrypted
    tampered = encrypt_bytes(original + b"\0")
    Run.objects.filter(pk=plan.pk).update(plan_file=tampered)

    runs = drive(awaiting)
    assert len(runs) == 2, [(r.kind, r.status, r.error) for r in runs]
    apply, replan = runs

    assert apply.status == RunStatus.FAILED and "changed" in apply.error
    assert replan.kind == RunKind.PLAN and replan.status == RunStatus.SUCCEEDED
    assert awaiting.status == ResourceStatus.AWAITING_APPROVAL  # the new plan needs approval
    assert not awaiting.outputs


@pytest.mark.django_db
def test_expired_approval_and_expired_plan(awaiting, bob, drive) -> None:
    plan = awaiting.runs.get()
    Run.objects.filter(pk=plan.pk).update(finished_at=timezone.now() - timedelta(days=30))
    with pytest.raises(Conflict, match="expired"):
        actions.approve(awaiting, actor=bob)
    Run.objects.filter(pk=plan.pk).update(finished_at=timezone.now())

    approval = actions.approve(awaiting, actor=bob).approval
    approval.expires_at = timezone.now() - timedelta(seconds=1)
    approval.save(update_fields=["expires_at"])
    # An expired approval discards the proposal (it is not planned again on its own).
    (apply,) = drive(awaiting)
    assert apply.status == RunStatus.FAILED and "expired" in apply.error
    assert not awaiting.runs.filter(kind=RunKind.PLAN, pk__gt=apply.pk).exists()
    assert awaiting.status == ResourceStatus.FAILED


@pytest.mark.django_db
def test_over_budget_request_needs_a_platform_admin(
    alice, bob, platform_admin, teams, envs, echo, state, drive
) -> None:
    from monitoring.models import Budget, CostRecord

    # The team has spent past its budget: monitoring's budget gate asks for a platform admin.
    Budget.objects.create(team=teams["payments"], monthly_amount=1)
    CostRecord.objects.create(team=teams["payments"], date=timezone.now().date(), amount=50)
    resource = request_module(alice, teams["payments"], name="costly", message="big")
    (plan,) = drive(resource)
    assert plan.approval_requirement["platform_admin"] is True
    assert resource.status == ResourceStatus.AWAITING_APPROVAL  # even in dev
    assert plan.plan_summary["requires_approval"] is True
    with pytest.raises(Forbidden):
        actions.approve(resource, actor=bob)
    assert "approve" not in actions.allowed_actions(resource, bob)
    actions.approve(resource, actor=platform_admin)
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.APPLYING


@pytest.mark.django_db
def test_a_decision_says_what_it_did_without_a_second_look(awaiting, bob, drive) -> None:
    """Surfaces render the action's outcome as is: the apply it queued, the status after it."""
    decision = actions.approve(awaiting, actor=bob, reason="fine")
    apply = Run.objects.get(resource=awaiting, kind=RunKind.APPLY)
    assert decision.queued and decision.apply_run == apply and decision.still_needed == 0
    assert (
        decision.status
        == ResourceStatus.APPLYING
        == awaiting.__class__.objects.get(pk=awaiting.pk).status
    )
    assert decision.approval.decision == ApprovalDecision.APPROVED
    assert decision.message == f"{awaiting.name} approved; the apply is queued."


@pytest.mark.django_db
def test_a_rejection_queues_nothing(awaiting, bob) -> None:
    decision = actions.reject(awaiting, actor=bob, reason="no")
    assert not decision.queued and decision.apply_run is None
    assert decision.status == ResourceStatus.REJECTED
    assert "rejected" in decision.message
    assert not Run.objects.filter(resource=awaiting, kind=RunKind.APPLY).exists()
