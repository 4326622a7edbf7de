"""Apply refused: why an apply may not apply its plan file (`apply_refusal`), and what
follows (`plan_refused`): a superseded plan is skipped, an expired approval discards the
proposal, anything else plans the same change again."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.db import transaction

from .. import dispatch, lifecycle, plan_checks
from ..approval_policy import ApprovalPolicy, Requirement
from ..causes import Cause
from ..choices import ApprovalDecision, RunKind, RunStatus
from ..crypto import decrypt_bytes
from ..models import Resource, Run
from .steps import E

SUPERSEDED = "A newer plan superseded this one; it was not applied"
APPROVAL_EXPIRED = "The approval expired before the apply; the proposed change was discarded"


def apply_refusal(run: Run) -> str | None:
    """Why the apply run may not apply its plan file (None: it may)."""
    plan = run.plan_run
    if plan is None or not plan.plan_file:
        return "There is no stored plan file to apply; a new plan was made"
    data = decrypt_bytes(plan.plan_file)
    digest = hashlib.sha256(data).hexdigest() if data is not None else ""
    if digest != plan.plan_hash:
        return "The stored plan file changed after it was made; it was refused and re-planned"
    if Run.objects.filter(resource_id=run.resource_id, kind=RunKind.PLAN, pk__gt=plan.pk).exists():
        return SUPERSEDED
    if plan_checks.is_blocked(plan.policy_summary):
        return "The plan fails a mandatory policy and was not overridden; it was not applied"
    policy = ApprovalPolicy.of(plan.resource)
    if Requirement.from_json(plan.approval_requirement).needed and not policy.satisfied(plan):
        if plan.approvals.filter(decision=ApprovalDecision.APPROVED, plan_hash=digest).exists():
            return APPROVAL_EXPIRED
        return "The plan was not approved as its policy requires; it was refused and re-planned"
    return None


def plan_refused(run: Run, reason: str, stop: Callable[..., bool]) -> None:
    """The stored plan may not be applied: end the apply (`stop`, the runner's, which logs),
    and make a new plan of the same proposal (its authors stay its authors).

    A plan superseded by a newer one is only skipped: the newer plan is on its way. An
    expired approval discards the proposal: nothing is planned again.
    """
    if reason == SUPERSEDED:
        with transaction.atomic():
            lifecycle.end_run(run, RunStatus.CANCELLED, error=reason)
            dispatch.release(run.resource_id, run.pk)
        return
    if reason == APPROVAL_EXPIRED:
        stop(run, RunStatus.FAILED, reason, nothing_applied=True)
        return
    if not stop(run, RunStatus.FAILED, reason, discard=False):
        return
    with transaction.atomic():
        resource = Resource.objects.select_for_update().get(pk=run.resource_id)
        plan = run.plan_run
        new_plan = dispatch.new_run(
            resource,
            RunKind.PLAN,
            # Not its approver's plan: the new plan carries the change's authors on.
            actor=Cause.of_run(run, f"plan refused: {reason}"),
            version=plan.template_version if plan else None,
            parameters=plan.parameters if plan else None,
            sensitive=plan.sensitive_parameters if plan else None,
            is_destroy=run.is_destroy,
            refresh_only=bool(plan and plan.refresh_only),  # an accepted drift stays so
            recovers=plan.recovers if plan else None,
        )
        lifecycle.transition(
            resource,
            dispatch.running_status(new_plan),
            E.PLAN_REFUSED,
            details={"apply_run": run.pk, "reason": reason, "new_plan": new_plan.pk},
        )
