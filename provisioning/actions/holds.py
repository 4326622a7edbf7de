"""Held plans: an upgrade planned with `hold=True` waits after it succeeds until released.

A fleet upgrade plans every selected resource first and applies them wave by wave: each
plan is held (the resource stays `planning`, so nothing else starts on it) until its wave
comes. Releasing a held plan goes on exactly as a plan that was not held would have: into
the approvals inbox where the environment needs approval, else straight to its apply.
Discarding one puts the resource back as it was, its proposal dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from idp import audit
from idp.services import Conflict

from .. import lifecycle
from ..approval_policy import Requirement, plan_expiry
from ..choices import AuditAction, ResourceEvent, ResourceStatus, RunStatus
from ..engine import outcomes
from ..models import Resource, Run
from . import proposals, rules
from .changes import HELD, locked, start_plan

RELEASED = "released"

_held_listeners: list[Callable[[int, int], None]] = []


def on_plan_held(listener: Callable[[int, int], None]) -> None:
    """Register a listener (an app's `ready()`), called on commit with (resource id, plan run
    id) when a held plan succeeded: no status moves then, so `on_resource_moved` is silent."""
    if listener not in _held_listeners:
        _held_listeners.append(listener)


def plan_held(resource_id: int, run_id: int) -> None:
    """Tell the listeners, once the transaction that stored the held plan commits."""

    def notify() -> None:
        for listener in list(_held_listeners):
            listener(resource_id, run_id)

    transaction.on_commit(notify)


def held_plan(resource: Resource) -> Run | None:
    """The resource's plan that succeeded and waits to be released (None: there is none)."""
    if resource.status != ResourceStatus.PLANNING:
        return None
    plan = proposals.pending_plan(resource)
    if plan is None or plan.status != RunStatus.SUCCEEDED or not plan.plan_hash:
        return None
    marks = plan.approval_requirement or {}
    return plan if marks.get(HELD) and not marks.get(RELEASED) else None


def _settled_status(resource: Resource) -> ResourceStatus:
    """Where the resource stands without its proposal: what exists stays as it was."""
    exists = resource.provisioned_at is not None and resource.destroyed_at is None
    return ResourceStatus.PROVISIONED if exists else ResourceStatus.FAILED


def _drop(resource: Resource, plan: Run, *, actor: Any, reason: str) -> None:
    lifecycle.transition(
        resource,
        _settled_status(resource),
        ResourceEvent.RUN_STOPPED,
        actor=actor,
        action=AuditAction.HELD_PLAN_DISCARDED,
        fields=proposals.discard_fields(resource),
        details={"run": plan.pk, "reason": reason},
    )


@transaction.atomic
def release_held_plan(resource: Resource, *, actor: Any) -> Run:
    """Let the held plan go on: to the approvals inbox where its requirement needs approval,
    else its apply is queued. A plan whose approval window closed while it was held is
    planned again (not held), so approvers never see a plan they can no longer decide on.
    Returns the run that carries the change on (the apply, or the plan awaiting approval)."""
    resource = locked(resource)
    rules.require(actor, resource.team, "use_team", "release held plans")
    plan = held_plan(resource)
    if plan is None:
        raise Conflict(f"The resource has no held plan (it is {resource.status})")
    marks = dict(plan.approval_requirement or {})
    Run.objects.filter(pk=plan.pk).update(approval_requirement={**marks, RELEASED: True})
    requirement = Requirement.from_json(marks)
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
        return start_plan(
            resource,
            config,
            actor=actor,
            action=AuditAction.REPLANNED,
            details={"expired_held_plan": plan.pk},
        )
    before = resource.runs.order_by("-pk").values_list("pk", flat=True).first()
    outcomes.advance(
        resource,
        plan,
        requirement,
        gate_fields={},
        details={"run": plan.pk, "released": True},
        waits=ResourceEvent.PLAN_AWAITS_APPROVAL,
        applies=ResourceEvent.APPLY_QUEUED,
        actor=actor,
    )
    apply = resource.runs.filter(pk__gt=before or 0).order_by("-pk").first()
    return apply or plan


@transaction.atomic
def discard_held_plan(resource: Resource, *, actor: Any, reason: str = "") -> Run:
    """Drop the held plan: the resource goes back to what it was, nothing applied."""
    resource = locked(resource)
    rules.require(actor, resource.team, "use_team", "discard held plans")
    plan = held_plan(resource)
    if plan is None:
        raise Conflict(f"The resource has no held plan (it is {resource.status})")
    _drop(resource, plan, actor=actor, reason=reason or "discarded")
    return plan
