"""Plan finished: the pure `after_plan` decides from the plan's facts (adopt, policy gate,
hold, await approval, queue the apply; after a lost run, its own rules), and `plan_finished`
stores the plan with its checks and carries the step out."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction

from idp import audit

from .. import dispatch, lifecycle, plan_checks
from ..approval_policy import ApprovalPolicy, Requirement
from ..choices import AuditAction, PlanHold, ResourceStatus, RunStatus
from ..models import Resource, Run
from ..proposals import adopt_fields, changed_names, current, proposed
from .gated import carry_out_gate, gate
from .steps import E, Next, S, Step, counts, lock_resource, move


@dataclass(frozen=True)
class PlanFacts:
    """What the workflow knows when a plan finished well."""

    status: ResourceStatus  # the resource's status now
    provisioned: bool  # something was applied before
    has_changes: bool
    is_destroy: bool
    refresh_only: bool
    held: bool
    proposal_changes_nothing: bool  # the staged parameters/version equal what is applied
    needs_approval: bool  # the approval policy's requirement of this plan
    policy_blocked: bool  # a mandatory policy fails the plan and was not overridden
    recovering: bool = False  # the plan finds out what a lost run did
    replaces_or_destroys: bool = False  # it deletes or replaces something


def after_plan(f: PlanFacts) -> Step:
    """The next step after a plan succeeded."""
    # Accepting drift is applied even when Terraform plans nothing: the apply records the
    # real outputs. A destroy plan is never "nothing to do".
    nothing_to_do = not (f.has_changes or f.is_destroy or f.refresh_only)
    if (
        nothing_to_do
        and not f.recovering
        and not f.held
        # A staged secret Terraform ignores today is still reviewed: a no-op plan adopts its
        # proposal unreviewed only when the proposal changes nothing either.
        and (f.proposal_changes_nothing or not f.needs_approval)
        and f.provisioned
        and f.status == S.PLANNING
    ):
        return Step(Next.ADOPT, S.PROVISIONED, E.PLAN_NO_CHANGES)
    if f.policy_blocked:
        return Step(Next.POLICY_GATE, S.POLICY_FAILED, E.PLAN_POLICY_FAILED)
    if f.recovering and nothing_to_do and f.status == S.PLANNING:
        # The lost run did its work: the empty plan is applied to record the outputs and
        # make the (already approved) proposal the configuration; nothing changes.
        return Step(Next.QUEUE_APPLY, S.APPLYING, E.APPLY_QUEUED)
    if f.held:
        return Step(Next.HOLD)
    # After a lost run, a plan that would replace or destroy what it created is reviewed.
    needs = f.needs_approval or (f.recovering and f.replaces_or_destroys and not f.is_destroy)
    return gate(f.status, needs=needs, is_destroy=f.is_destroy)


def replaces_or_destroys(summary: dict[str, Any] | None) -> bool:
    """Whether a plan summary deletes or replaces an object."""
    actions = {str(r.get("action", "")) for r in (summary or {}).get("resources", []) or []}
    return bool(actions & {"delete", "replace"}) or any(
        "create" in a and "delete" in a for a in actions
    )


@dataclass(frozen=True)
class PlanOutcome:
    """What the engine hands over after a plan: the plan, its stored forms and its checks'
    inputs (the engine encrypts and redacts; the workflow decides)."""

    plan: dict[str, Any]  # `show -json`
    file: bytes  # the encrypted plan file
    digest: str  # sha256 of the plan file
    summary: dict[str, Any]
    text: str
    changes: dict[str, Any]  # attribute-level changes, secrets masked
    document: str  # the encrypted plan document


_held_listeners: list[Callable[[int, int], None]] = []


def on_plan_held(listener: Callable[[int, int], None]) -> None:
    """Register a listener (an app's `ready()`), called on commit with (resource id, plan run
    id) when a held plan succeeded: no status moves then, so `on_resource_moved` is silent."""
    if listener not in _held_listeners:
        _held_listeners.append(listener)


def _plan_held(resource_id: int, run_id: int) -> None:
    def notify() -> None:
        for listener in list(_held_listeners):
            listener(resource_id, run_id)

    transaction.on_commit(notify)


def policy_counts(checks: dict[str, Any]) -> dict[str, Any]:
    """The counts of a plan's check summary, for audit details and messages."""
    keys = ("passed", "warnings", "failures", "blocking", "overridable")
    return {key: checks.get(key) for key in keys}


def plan_finished(run: Run, outcome: PlanOutcome, inputs: dict[str, Any]) -> None:
    """A plan succeeded: store it with what it needs (the approval policy, asked once, from
    the plan's own `inputs`) and its checks; then the next step (`after_plan`)."""
    with transaction.atomic():
        resource = lock_resource(run.resource_id)
        # The plan's cost, priced from its changes, is what the gates (budget) decide on.
        cost = plan_checks.price_plan(run, resource, outcome.plan)
        requirement = ApprovalPolicy.of(resource).requirement(
            resource, run.template_version, inputs, destroy=run.is_destroy, cost=cost
        )
        held = Run.objects.filter(pk=run.pk).values_list("hold", flat=True).first()
        summary = {**outcome.summary}
        recovering = run.recovers_id is not None
        facts = PlanFacts(
            status=S(resource.status),
            provisioned=bool(resource.provisioned_at),
            has_changes=bool(summary.get("has_changes")),
            is_destroy=run.is_destroy,
            refresh_only=run.refresh_only,
            held=held == PlanHold.HELD,
            proposal_changes_nothing=not changed_names(current(resource), proposed(run))
            and run.template_version_id == resource.template_version_id,
            needs_approval=requirement.needed,
            policy_blocked=False,
            recovering=recovering,
            replaces_or_destroys=replaces_or_destroys(summary),
        )
        step = after_plan(facts)
        if recovering and step.next in (Next.QUEUE_APPLY, Next.AWAIT_APPROVAL):
            requirement = _recovery_requirement(requirement, step)
        summary["requires_approval"] = requirement.needed
        if not lifecycle.end_run(
            run,
            RunStatus.SUCCEEDED,
            fields={
                "plan_file": outcome.file,
                "plan_hash": outcome.digest,
                "plan_summary": summary,
                "plan_text": outcome.text,
                "plan_changes": outcome.changes,
                "approval_requirement": requirement.as_json(),
                "cost": cost,
            },
        ):
            return
        estimate = requirement.estimated_monthly_cost
        gate_fields: dict[str, Any] = {"requires_platform_admin": requirement.platform_admin}
        if estimate is not None:
            gate_fields["estimated_monthly_cost"] = Decimal(estimate)
        details: dict[str, Any] = {"run": run.pk, **counts(summary)}
        # The plan's checks (policies) run on the exact plan, after it is stored; their
        # results are kept with it and an approval is bound to them.
        checks = plan_checks.check_plan(
            run, resource, outcome.plan, Decimal(estimate) if estimate is not None else None
        )
        Run.objects.filter(pk=run.pk).update(policy_summary=checks, plan_document=outcome.document)
        run.policy_summary = checks
        if not recovering and step.next != Next.ADOPT:
            # The approval rules read the plan and its checks: they add to the requirement,
            # or auto-approve it where the environment allows; kept with the plan.
            ruled, _ = ApprovalPolicy.of(resource).after_rules(
                resource, run, outcome.plan, checks, requirement
            )
            if ruled != requirement:
                requirement = ruled
                summary["requires_approval"] = requirement.needed
                Run.objects.filter(pk=run.pk).update(
                    approval_requirement=requirement.as_json(),
                    plan_summary=summary,
                    risk=requirement.risk,
                )
                run.approval_requirement = requirement.as_json()
                facts = dataclasses.replace(facts, needs_approval=requirement.needed)
                step = after_plan(facts)
                gate_fields["requires_platform_admin"] = requirement.platform_admin
            if requirement.auto_approved_by:
                audit.record(
                    AuditAction.AUTO_APPROVED,
                    target=resource,
                    details={
                        "run": run.pk,
                        "rule": requirement.auto_approved_by,
                        "reasons": list(requirement.reasons),
                        "message": f"auto-approved by rule {requirement.auto_approved_by}",
                    },
                )
        if step.next != Next.ADOPT and plan_checks.is_blocked(checks):
            step = after_plan(dataclasses.replace(facts, policy_blocked=True))
        if step.next == Next.ADOPT:
            move(resource, step, fields=adopt_fields(resource, run), details=details)
        elif step.next == Next.POLICY_GATE:
            details["policy"] = policy_counts(checks)
            move(resource, step, fields=gate_fields, details=details)
        elif step.next == Next.HOLD:
            Resource.objects.filter(pk=resource.pk).update(**gate_fields)
            audit.record(AuditAction.PLAN_HELD, target=resource, details=details)
            _plan_held(resource.pk, run.pk)
        else:
            carry_out_gate(resource, run, requirement, step, gate_fields, details, actor=None)
        dispatch.release(resource.pk, run.pk)
        audit.record(
            AuditAction.RUN_SUCCEEDED,
            target=run,
            team=resource.team,
            details={"kind": run.kind, **counts(summary)},
        )


def _recovery_requirement(requirement: Requirement, step: Step) -> Requirement:
    """What a refresh-and-plan after a lost run needs: nothing when it plans nothing (the
    lost run's change was approved and is there), one review at least when it would replace
    or destroy what the lost run created."""
    if step.next == Next.QUEUE_APPLY and not step.needs_approval and step.to is not None:
        return dataclasses.replace(requirement, approvals=0)
    if step.needs_approval and not requirement.needed:
        reason = (
            "A run was lost after it changed the state; this plan would replace or destroy "
            "what it created"
        )
        return dataclasses.replace(requirement, approvals=1, reasons=(*requirement.reasons, reason))
    return requirement
