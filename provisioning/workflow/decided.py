"""Decisions on a pending plan: approved (or break-glass) queues its apply; rejected,
withdrawn or expired discards the proposal; a policy change catches a waiting plan; a held
plan dropped leaves what exists as it was."""

from __future__ import annotations

from typing import Any

from idp.actors import Person

from .. import lifecycle
from ..choices import AuditAction, ResourceEvent
from ..models import Resource, Run
from ..proposals import discard_fields
from .gated import queue_apply
from .steps import E, S


def approved(
    resource: Resource, plan: Run, *, actor: Person | None, event: ResourceEvent, **details: Any
) -> Run:
    """A plan's approvals meet its policy (or break-glass): queue the apply of its file."""
    apply_run = queue_apply(resource, plan, actor=actor)
    lifecycle.transition(
        resource,
        S.DESTROYING if plan.is_destroy else S.APPLYING,
        event,
        actor=actor,
        details={
            "plan_run": plan.pk,
            "apply_run": apply_run.pk,
            "plan_hash": plan.plan_hash,
            **details,
        },
    )
    return apply_run


def proposal_ended(
    resource: Resource,
    event: ResourceEvent,
    *,
    actor: Person | None = None,
    details: dict[str, Any] | None = None,
    last_error: str = "",
) -> Resource:
    """The pending proposal is rejected, withdrawn or expired: it is discarded, and the
    resource is what exists (a first request that never existed ends rejected, or failed
    when it expired)."""
    exists = bool(resource.provisioned_at)
    gone = S.FAILED if event == E.APPROVAL_EXPIRED else S.REJECTED
    fields = discard_fields(resource)
    if last_error:
        fields["last_error"] = last_error
    return lifecycle.transition(
        resource,
        S.PROVISIONED if exists else gone,
        event,
        actor=actor,
        fields=fields,
        details=details,
    )


def policy_failed_again(resource: Resource, details: dict[str, Any]) -> None:
    """A policy change catches a plan that was waiting for approval."""
    lifecycle.transition(resource, S.POLICY_FAILED, E.PLAN_POLICY_FAILED, details=details)


def held_plan_dropped(resource: Resource, plan: Run, *, actor: Person | None, reason: str) -> None:
    """A held plan is discarded (or its window closed): what exists stays as it was."""
    exists = resource.provisioned_at is not None and resource.destroyed_at is None
    lifecycle.transition(
        resource,
        S.PROVISIONED if exists else S.FAILED,
        E.RUN_STOPPED,
        actor=actor,
        action=AuditAction.HELD_PLAN_DISCARDED,
        fields=discard_fields(resource),
        details={"run": plan.pk, "reason": reason},
    )
