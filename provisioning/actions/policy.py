"""A plan's checks (policies): a platform admin's override, and re-evaluation when the
policies change. The checks themselves run in `finish_plan`, on the exact plan."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from idp import audit
from idp.actors import Person
from idp.rbac import is_platform_admin
from idp.services import Conflict, Forbidden, ServiceError

from .. import plan_checks, workflow
from ..approval_policy import Requirement
from ..choices import AuditAction, ResourceEvent, ResourceStatus
from ..crypto import decrypt_json
from ..models import Resource, Run
from ..workflow import policy_counts
from . import proposals
from .changes import locked
from .results import PolicyOverridden

log = logging.getLogger(__name__)

WAITING = (ResourceStatus.AWAITING_APPROVAL, ResourceStatus.POLICY_FAILED)


def hold_reason(plan: Run | None) -> str:
    """Why nobody may approve a plan its policies hold: the failures, by policy and address."""
    results = (plan.policy_summary or {}).get("results", []) if plan is not None else []
    failures = [
        f"{r.get('policy')}"
        + (f" on {r['address']}" if r.get("address") else "")
        + f": {r.get('message')}"
        for r in results
        if r.get("level") == "failure" and r.get("enforcement") != "advisory"
    ]
    what = "; ".join(failures) or "a mandatory policy fails it"
    return (
        f"Nobody may approve this plan: it fails a mandatory policy ({what}). "
        "Change the request so it passes"
        + (", or ask a platform admin to override it" if _overridable(plan) else "")
        + "."
    )


def _overridable(plan: Run | None) -> bool:
    return plan is not None and bool((plan.policy_summary or {}).get("overridable"))


def _pending(resource: Resource, seen: int | None = None) -> Run:
    plan = proposals.pending_plan(resource)
    if plan is None or not plan.plan_hash:
        raise Conflict("There is no stored plan to decide on")
    if seen is not None and plan.pk != seen:
        raise Conflict(
            f"A newer plan (run {plan.pk}) replaced the one you looked at; review it first"
        )
    return plan


def override_refusal(
    resource: Resource, user: Person, plan: Run | None = None
) -> ServiceError | None:
    """Why `user` may not override the policy failure of the resource's plan (None: may)."""
    if not is_platform_admin(user):
        return Forbidden("Only a platform admin may override a policy failure")
    if resource.status != ResourceStatus.POLICY_FAILED:
        return Conflict(f"The resource's plan does not fail a policy (it is {resource.status})")
    plan = plan or proposals.pending_plan(resource)
    if plan is None or not plan.plan_hash:
        return Conflict("There is no stored plan to decide on")
    if not (plan.policy_summary or {}).get("overridable"):
        return Conflict(
            "A mandatory policy fails this plan and cannot be overridden: change the request"
        )
    return None


@transaction.atomic
def override_policy(
    resource: Resource, *, actor: Person, reason: str, plan_run: int | None = None
) -> PolicyOverridden:
    """A platform admin lets a plan past the policies it fails, when every blocking failure
    is `mandatory-overridable`; a reason is required, and it is audited and shown. The plan
    then needs its approvals as usual."""
    reason = (reason or "").strip()
    if not is_platform_admin(actor):
        raise Forbidden("Only a platform admin may override a policy failure")
    if not reason:
        raise ServiceError("Give a reason for the override", field="reason")
    resource = locked(resource)
    if resource.status != ResourceStatus.POLICY_FAILED:
        raise Conflict(f"The resource's plan does not fail a policy (it is {resource.status})")
    plan = _pending(resource, plan_run)
    refusal = override_refusal(resource, actor, plan)
    if refusal is not None:
        raise refusal
    summary = dict(plan.policy_summary or {})
    summary["override"] = {
        "by": actor.get_username(),
        "reason": reason,
        "at": timezone.now().isoformat(),
        "digest": summary.get("digest", ""),
    }
    Run.objects.filter(pk=plan.pk).update(policy_summary=summary)
    plan.policy_summary = summary
    apply_run = workflow.advance(
        resource,
        plan,
        details={"run": plan.pk, "reason": reason, "policy": policy_counts(summary)},
        waits=ResourceEvent.POLICY_OVERRIDDEN,
        applies=ResourceEvent.POLICY_OVERRIDDEN,
        actor=actor,
    )
    return PolicyOverridden(resource, plan, ResourceStatus(resource.status), apply_run)


def _estimate(plan: Run) -> Decimal | None:
    value = Requirement.from_json(plan.approval_requirement).estimated_monthly_cost
    return Decimal(value) if value is not None else None


def reevaluate(resource_id: int) -> bool:
    """Check the pending plan of one resource again against today's policies; move it in or
    out of `policy_failed` when the answer changed. True when its results changed (which
    voids the approvals given on the old results)."""
    with transaction.atomic():
        resource = (
            # Only the resource's row is locked: PostgreSQL refuses FOR UPDATE on the
            # nullable side of the outer join to its requester.
            Resource.objects.select_for_update(of=("self",))
            .select_related("team", "environment", "template", "requested_by")
            .get(pk=resource_id)
        )
        if resource.status not in WAITING:
            return False
        plan = proposals.pending_plan(resource)
        if plan is None or not plan.plan_document:
            return False
        document = decrypt_json(plan.plan_document)
        before = plan.policy_summary or {}
        checks = plan_checks.check_plan(plan, resource, document, _estimate(plan))
        if checks.get("digest") == before.get("digest"):
            return False
        Run.objects.filter(pk=plan.pk).update(policy_summary=checks)
        plan.policy_summary = checks
        details = {"run": plan.pk, "policy": policy_counts(checks), "reevaluated": True}
        blocked = plan_checks.is_blocked(checks)
        if blocked and resource.status == ResourceStatus.AWAITING_APPROVAL:
            workflow.policy_failed_again(resource, details)
        elif not blocked and resource.status == ResourceStatus.POLICY_FAILED:
            workflow.advance(
                resource,
                plan,
                details=details,
                waits=ResourceEvent.POLICY_PASSED,
                applies=ResourceEvent.POLICY_PASSED,
            )
        else:
            audit.record(AuditAction.POLICY_REEVALUATED, target=resource, details=details)
        return True


def reevaluate_pending_plans() -> int:
    """After a policy change: every plan waiting for a decision or a fix, checked again."""
    changed = 0
    ids = Resource.objects.filter(status__in=WAITING).values_list("pk", flat=True)
    for resource_id in list(ids):
        try:
            changed += reevaluate(resource_id)
        except Conflict:
            log.info("resource %s moved while its plan was re-evaluated", resource_id)
    return changed
