"""A plan past its checks (finished, released from a hold, a policy overridden or passing
again): the pure `gate` says whether it awaits approval or its apply is queued, and the
functions below carry that out."""

from __future__ import annotations

from typing import Any

from idp.actors import Person

from .. import dispatch
from ..approval_policy import ApprovalPolicy, Requirement
from ..causes import Cause, chain_of
from ..choices import ResourceEvent, ResourceStatus, RunKind
from ..models import Resource, Run
from .steps import E, Next, S, Step, move


def gate(
    status: ResourceStatus,
    *,
    needs: bool,
    is_destroy: bool,
    waits: ResourceEvent = E.PLAN_AWAITS_APPROVAL,
    applies: ResourceEvent = E.APPLY_QUEUED,
) -> Step:
    """A plan past its checks: wait for approval, or queue the apply of its file."""
    if needs:
        return Step(Next.AWAIT_APPROVAL, S.AWAITING_APPROVAL, waits, needs_approval=True)
    if status == S.PLANNING:
        return Step(Next.QUEUE_APPLY, S.APPLYING, applies)
    if status == S.POLICY_FAILED:
        return Step(Next.QUEUE_APPLY, S.DESTROYING if is_destroy else S.APPLYING, applies)
    return Step(Next.QUEUE_APPLY)  # a destroy plan: the resource is destroying already


def carry_out_gate(
    resource: Resource,
    plan: Run,
    requirement: Requirement,
    step: Step,
    gate_fields: dict[str, Any],
    details: dict[str, Any],
    *,
    actor: Person | None,
) -> Run | None:
    """Await approval, or queue the apply of the plan's file; the apply run, if queued."""
    if step.next == Next.AWAIT_APPROVAL:
        move(
            resource,
            step,
            actor=actor,
            fields=gate_fields,
            details={**details, "requirement": requirement.as_json()},
        )
        return None
    apply_run = queue_apply(resource, plan, actor=actor)
    if gate_fields:
        Resource.objects.filter(pk=resource.pk).update(**gate_fields)
    if step.to is not None:
        move(resource, step, actor=actor, details={**details, "apply_run": apply_run.pk})
    return apply_run


def advance(
    resource: Resource,
    plan: Run,
    *,
    details: dict[str, Any],
    waits: ResourceEvent,
    applies: ResourceEvent,
    actor: Person | None = None,
) -> Run | None:
    """A stored plan let past its checks (released from a hold, a policy overridden or
    passing again): await approval or queue its apply. The apply run, if queued."""
    requirement = Requirement.from_json(plan.approval_requirement)
    step = gate(
        S(resource.status),
        needs=requirement.needed,
        is_destroy=plan.is_destroy,
        waits=waits,
        applies=applies,
    )
    return carry_out_gate(resource, plan, requirement, step, {}, details, actor=actor)


def queue_apply(resource: Resource, plan: Run, *, actor: Person | None) -> Run:
    """Queue the apply (or destroy) of exactly this plan's file, with the plan's inputs.
    Started by whoever approved it (`actor`; None: the plan needed no approval), it carries
    everyone who touched the change as its authors: a dependant re-planned because this
    apply changed an output counts them (`dependencies.replan_if_stale`)."""
    touched = ApprovalPolicy.of(resource).touchers(resource) | chain_of(plan)
    person = actor if getattr(actor, "is_authenticated", False) else None
    label = f"apply of plan {plan.pk}"
    rule = Requirement.from_json(plan.approval_requirement).auto_approved_by
    if rule and person is None:
        # The system applies it, in the name of the rule that approved it.
        label += f", auto-approved by rule {rule}"
    return dispatch.new_run(
        resource,
        RunKind.DESTROY if plan.is_destroy else RunKind.APPLY,
        actor=Cause(label, frozenset(touched), plan, by=person),
        version=plan.template_version,
        parameters=plan.parameters,
        sensitive=plan.sensitive_parameters,
        is_destroy=plan.is_destroy,
        plan_run=plan,
        refresh_only=plan.refresh_only,
    )
