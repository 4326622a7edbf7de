"""Held plans: an upgrade planned with `hold=True` waits after it succeeds until released.

A fleet upgrade plans every selected resource first and applies them wave by wave: each
plan is held (the resource stays `planning`, so nothing else starts on it) until its wave
comes. Releasing a held plan goes on exactly as a plan that was not held would have: into
the approvals inbox where the environment needs approval, else straight to its apply.
Discarding one puts the resource back as it was, its proposal dropped.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from idp import audit
from idp.actors import Person
from idp.services import Conflict

from .. import workflow
from ..approval_policy import Requirement, plan_expiry
from ..choices import AuditAction, PlanHold, ResourceEvent, ResourceStatus, RunStatus
from ..models import Resource, Run
from . import proposals, rules
from .changes import locked, start_plan
from .results import HeldPlanDiscarded, HeldPlanReleased

# Listeners of held plans (an app's `ready()`): the workflow tells them.
on_plan_held = workflow.on_plan_held


def held_plan(resource: Resource) -> Run | None:
    """The resource's plan that succeeded and waits to be released (None: there is none)."""
    if resource.status != ResourceStatus.PLANNING:
        return None
    plan = proposals.pending_plan(resource)
    if plan is None or plan.status != RunStatus.SUCCEEDED or not plan.plan_hash:
        return None
    return plan if plan.hold == PlanHold.HELD else None


def _drop(resource: Resource, plan: Run, *, actor: Person, reason: str) -> None:
    workflow.held_plan_dropped(resource, plan, actor=actor, reason=reason)


@transaction.atomic
def release_held_plan(resource: Resource, *, actor: Person) -> HeldPlanReleased:
    """Let the held plan go on: to the approvals inbox where its requirement needs approval,
    else its apply is queued. A plan whose approval window closed while it was held is
    planned again (not held), so approvers never see a plan they can no longer decide on."""
    resource = locked(resource)
    rules.require_on(actor, resource, "use_team", "release held plans")
    plan = held_plan(resource)
    if plan is None:
        raise Conflict(f"The resource has no held plan (it is {resource.status})")
    Run.objects.filter(pk=plan.pk).update(hold=PlanHold.RELEASED)
    plan.hold = PlanHold.RELEASED
    requirement = Requirement.from_json(plan.approval_requirement)
    audit.record(
        AuditAction.PLAN_RELEASED,
        actor=actor,
        target=resource,
        details={"run": plan.pk, "needs_approval": requirement.needed},
    )
    expiry = plan_expiry(plan)
    if requirement.needed and expiry is not None and expiry <= timezone.now():
        config = proposals.proposed(plan)
        _drop(resource, plan, actor=actor, reason="its approval window closed while held")
        replanned = start_plan(
            resource,
            config,
            actor=actor,
            action=AuditAction.REPLANNED,
            details={"expired_held_plan": plan.pk},
        )
        return HeldPlanReleased(
            resource, plan, ResourceStatus(resource.status), replanned=replanned
        )
    apply = workflow.advance(
        resource,
        plan,
        details={"run": plan.pk, "released": True},
        waits=ResourceEvent.PLAN_AWAITS_APPROVAL,
        applies=ResourceEvent.APPLY_QUEUED,
        actor=actor,
    )
    return HeldPlanReleased(resource, plan, ResourceStatus(resource.status), apply_run=apply)


@transaction.atomic
def discard_held_plan(resource: Resource, *, actor: Person, reason: str = "") -> HeldPlanDiscarded:
    """Drop the held plan: the resource goes back to what it was, nothing applied."""
    resource = locked(resource)
    rules.require_on(actor, resource, "use_team", "discard held plans")
    plan = held_plan(resource)
    if plan is None:
        raise Conflict(f"The resource has no held plan (it is {resource.status})")
    _drop(resource, plan, actor=actor, reason=reason or "discarded")
    return HeldPlanDiscarded(resource, plan, ResourceStatus(resource.status))
