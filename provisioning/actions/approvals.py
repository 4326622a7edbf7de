"""Deciding on a pending plan: approve, reject, break-glass, withdraw, and expiry.

Who may decide, how many approvals a plan needs and whether they suffice is the approval
policy's answer (`provisioning/approval_policy.py`); these actions ask it and record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from idp import audit
from idp.actors import Person, signed_in
from idp.db import lock
from idp.services import Conflict, Forbidden, ServiceError

from .. import workflow
from ..approval_policy import ApprovalPolicy, approval_ttl, break_glass_refusal, plan_expiry
from ..choices import (
    ApprovalDecision,
    AuditAction,
    ResourceEvent,
    ResourceStatus,
)
from ..models import Approval, Resource, Run
from . import proposals, rules
from .changes import locked
from .policy import hold_reason
from .results import Decision, Withdrawn


def _plan_to_decide(resource: Resource, seen: int | None = None) -> Run:
    """The plan awaiting a decision; `seen` (the plan run the decider looked at, when the
    surface knows it) must still be that plan, or the decision would land on another."""
    if resource.status == ResourceStatus.POLICY_FAILED:
        # Nobody decides on a plan its policies hold, break-glass included (403, with why).
        raise Forbidden(hold_reason(proposals.pending_plan(resource)))
    if resource.status != ResourceStatus.AWAITING_APPROVAL:
        raise Conflict(f"The resource is not awaiting approval (it is {resource.status})")
    plan = proposals.plan_awaiting_decision(resource)
    if plan is None:
        raise Conflict("There is no plan awaiting approval")
    if seen is not None and plan.pk != seen:
        raise Conflict(
            f"Plan run {seen} is no longer the one awaiting approval (run {plan.pk} is); "
            "review it before deciding",
            field="plan_run",
        )
    if plan.approvals.filter(decision=ApprovalDecision.REJECTED).exists():
        raise Conflict("This plan was already rejected")
    expiry = plan_expiry(plan)
    if expiry is not None and expiry < timezone.now():
        raise Conflict("The plan expired before it was decided; plan the resource again")
    return plan


def _decide(
    resource: Resource,
    actor: Person,
    plan_run: int | None,
    decision: ApprovalDecision,
    reason: str,
    *,
    break_glass: bool = False,
) -> tuple[Run, Approval]:
    """Check the decider (the policy; break-glass skips it) and record the decision on the
    plan awaiting one."""
    if not break_glass:
        _check_decider(resource, None, actor)
    plan = _plan_to_decide(resource, plan_run)
    if not break_glass:
        _check_decider(resource, plan, actor)
    approved = decision == ApprovalDecision.APPROVED
    approval = Approval.objects.create(
        resource=resource,
        run=plan,
        decision=decision,
        decided_by=signed_in(actor),
        reason=reason,
        break_glass=break_glass,
        plan_hash=plan.plan_hash,
        policy_digest=(plan.policy_summary or {}).get("digest", ""),
        expires_at=timezone.now() + approval_ttl() if approved else None,
    )
    return plan, approval


def _check_decider(resource: Resource, plan: Run | None, actor: Person) -> None:
    refusal = ApprovalPolicy.of(resource).refusal(resource, plan, actor)
    if refusal:
        raise Forbidden(refusal)


def _queue(
    resource: Resource, plan: Run, event: ResourceEvent, actor: Person, **details: Any
) -> Run:
    return workflow.approved(resource, plan, actor=actor, event=event, **details)


@transaction.atomic
def approve(
    resource: Resource, *, actor: Person, reason: str = "", plan_run: int | None = None
) -> Decision:
    """Approve the pending plan. When the plan's approvals then meet its policy, the apply of
    exactly that plan file is queued; otherwise it waits for the next approver."""
    resource = locked(resource)
    plan, approval = _decide(
        resource, actor, plan_run, ApprovalDecision.APPROVED, (reason or "").strip()
    )
    policy = ApprovalPolicy.of(resource)
    if policy.satisfied(plan):
        apply_run = _queue(resource, plan, ResourceEvent.APPROVED, actor, reason=approval.reason)
        return Decision(resource, plan, approval, ResourceStatus(resource.status), apply_run)
    progress = policy.progress(plan)
    # The plan waits for the next approver.
    audit.record(
        AuditAction.APPROVAL_RECORDED,
        actor=actor,
        target=resource,
        details={
            "plan_run": plan.pk,
            "plan_hash": plan.plan_hash,
            "approved_by": progress["approved_by"],
            "approvals_required": progress["approvals"],
            "reason": approval.reason,
        },
    )
    needed = max(int(progress["approvals"] or 0) - len(progress["approved_by"]), 1)
    return Decision(resource, plan, approval, ResourceStatus(resource.status), still_needed=needed)


@transaction.atomic
def break_glass(
    resource: Resource, *, actor: Person, reason: str, plan_run: int | None = None
) -> Decision:
    """A platform admin approves the pending plan alone, past the four-eyes rule and the
    number of approvals: a reason is required, and the override is audited and shown."""
    reason = (reason or "").strip()
    refusal = break_glass_refusal(actor)
    if refusal is not None:
        raise Forbidden(refusal)
    if not reason:
        raise ServiceError("Give a reason for the break-glass approval", field="reason")
    resource = locked(resource)
    plan, approval = _decide(
        resource, actor, plan_run, ApprovalDecision.APPROVED, reason, break_glass=True
    )
    apply_run = _queue(
        resource, plan, ResourceEvent.BREAK_GLASS, actor, reason=reason, break_glass=True
    )
    return Decision(resource, plan, approval, ResourceStatus(resource.status), apply_run)


@transaction.atomic
def reject(
    resource: Resource, *, actor: Person, reason: str, plan_run: int | None = None
) -> Decision:
    """Reject the pending plan (a reason is required) and discard its proposal: a rejected
    first request ends the resource, a rejected change leaves what exists as it was."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Give a reason for the rejection", field="reason")
    resource = locked(resource)
    plan, approval = _decide(resource, actor, plan_run, ApprovalDecision.REJECTED, reason)
    workflow.proposal_ended(
        resource,
        ResourceEvent.REJECTED,
        actor=actor,
        details={"plan_run": plan.pk, "reason": reason},
    )
    return Decision(resource, plan, approval, ResourceStatus(resource.status))


@transaction.atomic
def withdraw(resource: Resource, *, actor: Person) -> Withdrawn:
    """The team withdraws its proposed change before it is decided: the proposal is
    discarded (a first request ends as rejected)."""
    resource = locked(resource)
    rules.require_on(actor, resource, "use_team", "withdraw changes")
    if resource.status not in (ResourceStatus.AWAITING_APPROVAL, ResourceStatus.POLICY_FAILED):
        raise Conflict(f"The resource is not awaiting approval (it is {resource.status})")
    workflow.proposal_ended(resource, ResourceEvent.CANCELLED, actor=actor)
    return Withdrawn(resource, ResourceStatus(resource.status))


def expire_pending_plans(now: datetime | None = None) -> int:
    """Discard proposals whose plan waited for approval past the approval time limit."""
    now = now or timezone.now()
    cutoff = now - approval_ttl()
    expired = 0
    waiting = (ResourceStatus.AWAITING_APPROVAL, ResourceStatus.POLICY_FAILED)
    candidates = Resource.objects.filter(status__in=waiting)
    for resource_id in candidates.values_list("pk", flat=True):
        with transaction.atomic():
            resource = lock(Resource.objects.select_related("team", "environment")).get(
                pk=resource_id
            )
            plan = proposals.pending_plan(resource)
            if plan is None or plan.finished_at is None or plan.finished_at > cutoff:
                continue
            workflow.proposal_ended(
                resource,
                ResourceEvent.APPROVAL_EXPIRED,
                details={"plan_run": plan.pk},
                last_error="The plan was not approved in time; its change was discarded",
            )
            expired += 1
    return expired
