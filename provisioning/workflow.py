"""The workflow: what happens next to a resource, decided in one place.

Given the resource, an event (a plan finished, an apply finished, a run stopped or was lost,
a decision on a plan, a policy change, a held plan released, ...) and the facts, the
workflow says the next step: the status move, the fields written with it, and what to do
next (queue an apply, await approval, hold, adopt the proposal, plan again to find out what
is there). The deciders (`after_plan`, `gate`, `after_stop`, `after_loss`) are pure and
table-driven; the functions below them carry a step out through `provisioning.lifecycle`,
whose only caller this module is. The engine hands its outcomes here (it never decides),
and the actions call here after they resolved objects and checked permission.
`docs/architecture.md` has the table of events and steps.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.utils import timezone

from idp import audit
from idp.db import lock

from . import dispatch, lifecycle, plan_checks
from .approval_policy import ApprovalPolicy, Requirement
from .causes import Cause, chain_of
from .choices import (
    RESOURCE_BUSY,
    RESOURCE_GONE,
    RUN_ACTIVE,
    ApprovalDecision,
    AuditAction,
    PlanHold,
    ResourceEvent,
    ResourceStatus,
    RunKind,
    RunStatus,
)
from .crypto import decrypt_bytes, encrypt_json
from .drift_found import Found
from .models import Resource, Run
from .plan_summary import plan_text
from .proposals import (
    Config,
    adopt_fields,
    changed_names,
    current,
    discard_fields,
    proposed,
    unresolved_loss,
)

log = logging.getLogger(__name__)

S = ResourceStatus
E = ResourceEvent

# --- the pure deciders -----------------------------------------------------------------------


class Next(StrEnum):
    """What the workflow does after a step's status move."""

    NOTHING = "nothing"  # the status move (if any) is all
    AWAIT_APPROVAL = "await_approval"
    QUEUE_APPLY = "queue_apply"  # the apply (or destroy) of exactly the plan's file
    HOLD = "hold"  # a held plan waits to be released (the resource stays planning)
    ADOPT = "adopt"  # a plan with nothing to do: its proposal becomes the configuration
    POLICY_GATE = "policy_gate"  # a mandatory policy fails: waits for a fix or an override
    REFRESH_AND_PLAN = "refresh_and_plan"  # a lost run changed the state: plan what is there
    RECORD = "record"  # keep the status, record the error


@dataclass(frozen=True)
class Step:
    """The workflow's answer: where the resource goes, by which event, and what follows."""

    next: Next
    to: ResourceStatus | None = None
    event: ResourceEvent | None = None
    discard: bool = False  # the pending proposal is dropped
    needs_approval: bool = False


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


@dataclass(frozen=True)
class StopFacts:
    """What the workflow knows when a run stopped without success."""

    kind: RunKind
    exists: bool  # applied before and not destroyed
    nothing_ran: bool  # a plan, or an apply that never reached Terraform
    newer_run: bool  # a newer run carries the resource on
    recovering: bool  # the run was finding out what a lost run did


def after_stop(f: StopFacts) -> Step:
    """Where the resource goes after a run failed, was cancelled or unlocked."""
    if f.kind == RunKind.DRIFT or f.newer_run:
        return Step(Next.NOTHING)
    if f.recovering:
        # What is there is unknown: failed (retryable), and the proposal kept, so a retry
        # plans it again instead of the configuration before the lost run.
        return Step(Next.RECORD, S.FAILED, E.RUN_STOPPED)
    to = S.PROVISIONED if f.exists and f.nothing_ran else S.FAILED
    return Step(Next.RECORD, to, E.RUN_STOPPED, discard=True)


@dataclass(frozen=True)
class StateVersion:
    """The backend state's identity: serial and lineage (serial 0, no lineage: no state, or
    one that holds nothing)."""

    serial: int
    lineage: str

    @classmethod
    def of_document(cls, data: bytes | None) -> StateVersion:
        """The identity of a state object. One that holds no resources counts as no state:
        Terraform writes an empty state when a first apply starts, before it creates
        anything, and a state emptied by a destroy holds nothing either."""
        import json

        doc = json.loads(data) if data else {}
        if not doc.get("resources"):
            return cls(0, "")
        return cls(int(doc.get("serial") or 0), str(doc.get("lineage") or ""))

    def __str__(self) -> str:
        return f"serial {self.serial}" if self.lineage else "no state"


class Loss(StrEnum):
    FAILED = "failed"  # nothing changed: failed and retryable
    OUTCOME_UNKNOWN = "outcome_unknown"  # the state moved: a refresh-and-plan finds out


def after_loss(kind: str, before: StateVersion | None, now: StateVersion | None) -> Loss:
    """A run whose worker died: did it change the world? Only an apply or destroy writes
    the state; when the state's serial or lineage moved (or either cannot be read), what it
    did is unknown, never assumed."""
    if kind not in (RunKind.APPLY, RunKind.DESTROY):
        return Loss.FAILED
    if before is None or now is None or before != now:
        return Loss.OUTCOME_UNKNOWN
    return Loss.FAILED


# --- facts read from the database ------------------------------------------------------------


def _lock(resource_id: int) -> Resource:
    # Only the resource row: parent rows locked FOR UPDATE deadlock a request's commit.
    return lock(Resource.objects.select_related("team", "environment")).get(pk=resource_id)


def replaces_or_destroys(summary: dict[str, Any] | None) -> bool:
    """Whether a plan summary deletes or replaces an object."""
    actions = {str(r.get("action", "")) for r in (summary or {}).get("resources", []) or []}
    return bool(actions & {"delete", "replace"}) or any(
        "create" in a and "delete" in a for a in actions
    )


def carried_on_by(run: Run) -> Run | None:
    """The run that carries a lost run's change on: its refresh-and-plan, or that plan's
    newest apply (followed again when that one was lost too). None: nothing yet."""
    seen = run
    for _ in range(10):
        plan = Run.objects.filter(recovers=seen).order_by("-pk").first()
        if plan is None:
            return None if seen is run else seen
        apply = plan.applies.order_by("-pk").first()
        if apply is None:
            return plan
        if not apply.outcome_unknown:
            return apply
        seen = apply
    return seen


# --- carrying steps out: plans ---------------------------------------------------------------


def queue_plan(
    resource: Resource,
    config: Config,
    *,
    cause: Cause,
    event: ResourceEvent,
    action: str | None = None,
    is_destroy: bool = False,
    refresh_only: bool = False,
    hold: bool = False,
    recovers: Run | None = None,
    details: dict[str, Any] | None = None,
) -> Run:
    """Queue a plan of `config` and move the resource to planning (or destroying)."""
    run = dispatch.new_run(
        resource,
        RunKind.PLAN,
        actor=cause,
        version=config.version,
        parameters=config.plain,
        sensitive=encrypt_json(config.secret),
        is_destroy=is_destroy,
        refresh_only=refresh_only,
        recovers=recovers,
    )
    if hold:
        # Marked before the plan runs (the run is sent on commit); `plan_finished` keeps it.
        Run.objects.filter(pk=run.pk).update(hold=PlanHold.HELD)
        run.hold = PlanHold.HELD
    lifecycle.transition(
        resource,
        dispatch.running_status(run),
        event,
        actor=cause.person,
        action=action,
        fields={"last_error": ""},
        details={"run": run.pk, **(details or {})},
    )
    return run


def run_started(run: Run, resource: Resource) -> None:
    """A worker took the run: a first plan moves the resource to planning."""
    if run.kind == RunKind.PLAN and resource.status == S.PENDING:
        lifecycle.transition(resource, S.PLANNING, E.PLAN_STARTED, record=False)


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
        resource = _lock(run.resource_id)
        requirement = ApprovalPolicy.of(resource).requirement(
            resource, run.template_version, inputs, destroy=run.is_destroy
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
            },
        ):
            return
        estimate = requirement.estimated_monthly_cost
        gate_fields: dict[str, Any] = {"requires_platform_admin": requirement.platform_admin}
        if estimate is not None:
            gate_fields["estimated_monthly_cost"] = Decimal(estimate)
        details: dict[str, Any] = {"run": run.pk, **_counts(summary)}
        # The plan's checks (policies) run on the exact plan, after it is stored; their
        # results are kept with it and an approval is bound to them.
        checks = plan_checks.check_plan(
            run, resource, outcome.plan, Decimal(estimate) if estimate is not None else None
        )
        Run.objects.filter(pk=run.pk).update(policy_summary=checks, plan_document=outcome.document)
        run.policy_summary = checks
        if step.next != Next.ADOPT and plan_checks.is_blocked(checks):
            step = after_plan(dataclasses.replace(facts, policy_blocked=True))
        if step.next == Next.ADOPT:
            _move(resource, step, fields=adopt_fields(resource, run), details=details)
        elif step.next == Next.POLICY_GATE:
            details["policy"] = policy_counts(checks)
            _move(resource, step, fields=gate_fields, details=details)
        elif step.next == Next.HOLD:
            Resource.objects.filter(pk=resource.pk).update(**gate_fields)
            audit.record(AuditAction.PLAN_HELD, target=resource, details=details)
            _plan_held(resource.pk, run.pk)
        else:
            _carry_out_gate(resource, run, requirement, step, gate_fields, details, actor=None)
        dispatch.release(resource.pk, run.pk)
        audit.record(
            AuditAction.RUN_SUCCEEDED,
            target=run,
            team=resource.team,
            details={"kind": run.kind, **_counts(summary)},
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


def _counts(summary: dict[str, Any] | None) -> dict[str, int]:
    summary = summary or {}
    return {key: int(summary.get(key, 0) or 0) for key in ("add", "change", "destroy")}


def _move(
    resource: Resource,
    step: Step,
    *,
    actor: Any = None,
    fields: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
    action: str | None = None,
) -> None:
    assert step.to is not None and step.event is not None
    lifecycle.transition(
        resource, step.to, step.event, actor=actor, fields=fields, details=details, action=action
    )


def _carry_out_gate(
    resource: Resource,
    plan: Run,
    requirement: Requirement,
    step: Step,
    gate_fields: dict[str, Any],
    details: dict[str, Any],
    *,
    actor: Any,
) -> Run | None:
    """Await approval, or queue the apply of the plan's file; the apply run, if queued."""
    if step.next == Next.AWAIT_APPROVAL:
        _move(
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
        _move(resource, step, actor=actor, details={**details, "apply_run": apply_run.pk})
    return apply_run


def advance(
    resource: Resource,
    plan: Run,
    *,
    details: dict[str, Any],
    waits: ResourceEvent,
    applies: ResourceEvent,
    actor: Any = None,
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
    return _carry_out_gate(resource, plan, requirement, step, {}, details, actor=actor)


def queue_apply(resource: Resource, plan: Run, *, actor: Any) -> Run:
    """Queue the apply (or destroy) of exactly this plan's file, with the plan's inputs.
    Started by whoever approved it (`actor`; None: the plan needed no approval), it carries
    everyone who touched the change as its authors: a dependant re-planned because this
    apply changed an output counts them (`dependencies.replan_if_stale`)."""
    touched = ApprovalPolicy.of(resource).touchers(resource) | chain_of(plan)
    person = actor if getattr(actor, "is_authenticated", False) else None
    return dispatch.new_run(
        resource,
        RunKind.DESTROY if plan.is_destroy else RunKind.APPLY,
        actor=Cause(f"apply of plan {plan.pk}", frozenset(touched), plan, by=person),
        version=plan.template_version,
        parameters=plan.parameters,
        sensitive=plan.sensitive_parameters,
        is_destroy=plan.is_destroy,
        plan_run=plan,
        refresh_only=plan.refresh_only,
    )


# --- decisions on a pending plan -----------------------------------------------------------


def approved(
    resource: Resource, plan: Run, *, actor: Any, event: ResourceEvent, **details: Any
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
    actor: Any = None,
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


def held_plan_dropped(resource: Resource, plan: Run, *, actor: Any, reason: str) -> None:
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


# --- carrying steps out: applies -----------------------------------------------------------

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


def _applied_fields(
    run: Run, resource: Resource, plain: dict[str, Any], secret: str, secret_names: list[str]
) -> tuple[dict[str, Any], ResourceStatus]:
    """What the resource holds once the run's change is stored: the plan's proposal becomes
    its configuration, with the outputs (or, after a destroy, nothing)."""
    now = timezone.now()
    plan = run.plan_run
    # Applied: whatever drift there was is gone (reconciled or accepted); a drift found
    # later, even the same one, is new.
    fields: dict[str, Any] = {
        "last_error": "",
        "drifted": False,
        "drift_details": {},
        "drift_digest": "",
    }
    if plan is not None:
        fields.update(adopt_fields(resource, plan))
        estimate = Requirement.from_json(plan.approval_requirement).estimated_monthly_cost
        if estimate is not None:
            fields["estimated_monthly_cost"] = Decimal(estimate)
    if run.is_destroy:
        fields.update(destroyed_at=now, outputs={}, sensitive_outputs="", sensitive_output_names=[])
        return fields, S.DESTROYED
    fields.update(
        provisioned_at=resource.provisioned_at or now,
        outputs=plain,
        sensitive_outputs=secret,
        sensitive_output_names=sorted(secret_names),
    )
    return fields, S.PROVISIONED


def apply_finished(run: Run, plain: dict[str, Any], secret: str, secret_names: list[str]) -> None:
    """The apply succeeded: its plan's proposal becomes the resource's configuration, with
    the outputs (`secret`: the sensitive ones, encrypted)."""
    with transaction.atomic():
        resource = _lock(run.resource_id)
        if not lifecycle.end_run(run, RunStatus.SUCCEEDED):
            return
        if run.refresh_only:
            _drift_accepted(resource, run)  # audited before the details are cleared
        fields, to = _applied_fields(run, resource, plain, secret, secret_names)
        lifecycle.transition(
            resource,
            to,
            E.DESTROYED if run.is_destroy else E.APPLIED,
            fields=fields,
            details={"run": run.pk, "outputs": sorted(plain), "sensitive_outputs": secret_names},
        )
        dispatch.release(resource.pk, run.pk)


def _drift_accepted(resource: Resource, run: Run) -> None:
    """The apply of a refresh-only plan succeeded: audit what was accepted (the drift
    details are cleared with it)."""
    plan = run.plan_run
    audit.record(
        AuditAction.DRIFT_ACCEPTED,
        actor=plan.created_by if plan is not None else None,
        target=resource,
        details={"run": run.pk, "plan_run": run.plan_run_id, **drift_summary(resource)},
    )


def state_kept(run: Run, fields: dict[str, Any], error: str) -> bool:
    """Terraform applied but could not store the state: it is kept with the run (`fields`),
    the run ends and the resource waits in `state_pending`. False: ended by someone else."""
    with transaction.atomic():
        resource = Resource.objects.select_for_update().get(pk=run.resource_id)
        if not lifecycle.end_run(run, RunStatus.FAILED, error=error, fields=fields):
            return False
        values = {"last_error": f"Run {run.pk} ({run.kind}): {error}"[:10000]}
        if lifecycle.allowed(E.STATE_WRITE_FAILED, resource.status, S.STATE_PENDING):
            lifecycle.transition(
                resource,
                S.STATE_PENDING,
                E.STATE_WRITE_FAILED,
                fields=values,
                details={"run": run.pk, "kind": run.kind},
            )
        else:  # moved on meanwhile (an operator): the state still waits with the run
            Resource.objects.filter(pk=resource.pk).update(**values)
        dispatch.release(resource.pk, run.pk)
        return True


def state_pushed(
    run: Run, plain: dict[str, Any], secret: str, secret_names: list[str], note: str
) -> bool:
    """The state an apply could not store is in the backend now: the apply becomes the
    resource's configuration. False when the resource had moved on (pushed twice)."""
    with transaction.atomic():
        resource = _lock(run.resource_id)
        Run.objects.filter(pk=run.pk).update(pending_state=None, pending_state_retry_at=None)
        if resource.status != S.STATE_PENDING:
            return False
        fields, to = _applied_fields(run, resource, plain, secret, secret_names)
        lifecycle.transition(
            resource,
            to,
            E.STATE_PUSHED,
            fields=fields,
            details={
                "run": run.pk,
                "outputs": sorted(plain),
                "sensitive_outputs": secret_names,
                "parameter_store": note,
            },
        )
        return True


# --- carrying steps out: runs that stop, are refused or are lost -----------------------------


def _stop_facts(run: Run, resource: Resource, nothing_applied: bool) -> StopFacts:
    newer = (
        Run.objects.filter(resource=resource, status__in=RUN_ACTIVE)
        .exclude(pk=run.pk)
        .exclude(kind=RunKind.DRIFT)
        .exists()
    )
    return StopFacts(
        kind=RunKind(run.kind),
        exists=resource.provisioned_at is not None and resource.destroyed_at is None,
        nothing_ran=nothing_applied or run.kind == RunKind.PLAN or run.started_at is None,
        newer_run=newer,
        recovering=run.recovers_id is not None or unresolved_loss(resource) is not None,
    )


def settle_after_stop(
    resource: Resource,
    error: str,
    run: Run,
    *,
    discard: bool = True,
    actor: Any = None,
    nothing_applied: bool = False,
) -> None:
    """The resource after a run stopped without success (failed, cancelled, lost, unlocked):
    the step `after_stop` says; the proposal is discarded unless a new plan follows or what
    a lost run did is still unknown."""
    if run.kind == RunKind.DRIFT:
        Resource.objects.filter(pk=resource.pk).update(drift_checked_at=timezone.now())
        return
    step = after_stop(_stop_facts(run, resource, nothing_applied))
    if step.next == Next.NOTHING:
        return
    fields: dict[str, Any] = {"last_error": error[:10000]}
    if discard and step.discard:
        fields.update(discard_fields(resource))
    assert step.to is not None and step.event is not None
    if lifecycle.allowed(step.event, resource.status, step.to):
        _move(
            resource,
            step,
            actor=actor,
            fields=fields,
            details={"run": run.pk, "kind": run.kind, "error": error[:500]},
        )
    else:  # e.g. awaiting approval, or already settled: keep the status, record the error
        Resource.objects.filter(pk=resource.pk).update(**fields)
        for name, value in fields.items():
            setattr(resource, name, value)


def run_stopped(
    run: Run,
    resource: Resource,
    to: RunStatus,
    error: str,
    *,
    expect: RunStatus = RunStatus.RUNNING,
    actor: Any = None,
    action: str | None = None,
    discard: bool = True,
    nothing_applied: bool = False,
    fields: dict[str, Any] | None = None,
) -> bool:
    """End a run without success, settle its resource and free its lock, in the caller's
    transaction with the resource row locked. False when the run had already ended."""
    if not lifecycle.end_run(
        run, to, expect=expect, error=error, actor=actor, action=action, fields=fields
    ):
        return False
    settle_after_stop(
        resource,
        f"Run {run.pk} ({run.kind}): {error}",
        run,
        discard=discard,
        actor=actor,
        nothing_applied=nothing_applied,
    )
    dispatch.release(resource.pk, run.pk)
    return True


def run_cancelled(run: Run, resource: Resource, *, actor: Any = None) -> None:
    """End a queued run as cancelled and settle its resource (caller holds the row locks):
    a person cancelled it, or a worker took it with a cancel requested."""
    run_stopped(
        run,
        resource,
        RunStatus.CANCELLED,
        run.error or "Cancelled",
        expect=RunStatus.QUEUED,
        actor=actor,
    )


def run_lost(run: Run, resource: Resource, now: StateVersion | None, *, error: str) -> Loss:
    """A run's worker died (the reaper found its heartbeat stale). Compare the backend
    state with what the run started from (`after_loss`): unchanged, it failed and may be
    retried; moved, its outcome is unknown: the proposal is kept and a refresh-and-plan of
    it shows what is really there (never an apply of the configuration before it)."""
    before: StateVersion | None = None
    if run.state_serial is not None:
        before = StateVersion(run.state_serial, run.state_lineage)
    elif run.plan_run is not None and run.plan_run.state_serial is not None:
        before = StateVersion(run.plan_run.state_serial, run.plan_run.state_lineage)
    loss = after_loss(run.kind, before, now)
    if loss == Loss.FAILED:
        run_stopped(run, resource, RunStatus.FAILED, error, action=AuditAction.RUN_WORKER_LOST)
        return loss
    moved = f"{before or 'not recorded'} → {now or 'unreadable'}"
    why = (
        f"{error} after the state changed ({moved}): outcome unknown; a new plan of the "
        "same change shows what is there"
    )
    if not lifecycle.end_run(
        run,
        RunStatus.FAILED,
        error=why,
        action=AuditAction.RUN_OUTCOME_UNKNOWN,
        fields={"outcome_unknown": True},
    ):
        return loss
    refresh_and_plan(resource, run, why)
    dispatch.release(resource.pk, run.pk)
    return loss


def refresh_and_plan(resource: Resource, lost: Run, why: str) -> Run | None:
    """Plan the lost run's change again (Terraform refreshes first), to find what it did."""
    plan = lost.plan_run
    config = proposed(plan) if plan is not None else current(resource)
    to = S.DESTROYING if lost.is_destroy else S.PLANNING
    fields = {"last_error": f"Run {lost.pk} ({lost.kind}): {why}"[:10000]}
    busy = (
        Run.objects.filter(resource=resource, status__in=RUN_ACTIVE)
        .exclude(pk=lost.pk)
        .exclude(kind=RunKind.DRIFT)
        .exists()
    )
    if busy or not lifecycle.allowed(E.OUTCOME_UNKNOWN, resource.status, to):
        Resource.objects.filter(pk=resource.pk).update(**fields)
        return None
    run = dispatch.new_run(
        resource,
        RunKind.PLAN,
        actor=Cause.of_run(lost, "outcome unknown: plan again to see what is there"),
        version=config.version,
        parameters=config.plain,
        sensitive=encrypt_json(config.secret),
        is_destroy=lost.is_destroy,
        refresh_only=bool(plan and plan.refresh_only),
        recovers=lost,
    )
    lifecycle.transition(
        resource,
        to,
        E.OUTCOME_UNKNOWN,
        fields=fields,
        details={"run": lost.pk, "new_plan": run.pk},
    )
    return run


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


# --- drift --------------------------------------------------------------------------------


def is_busy(resource: Resource) -> bool:
    """A run works on the resource, or it is between the steps of one. A resource read with
    its `activity` (`access.with_activity`, the same question in its query) is not asked again:
    pages ask this of one resource several times."""
    if resource.status in RESOURCE_BUSY:
        return True
    if "activity" in resource.__dict__:
        return resource.activity is not None  # type: ignore[attr-defined]
    return resource.runs.filter(status__in=RUN_ACTIVE).exclude(kind=RunKind.DRIFT).exists()


def idle_refusal(resource: Resource) -> str | None:
    """Why no new work may start on the resource now (None: it may)."""
    if resource.status in RESOURCE_GONE:
        return f"The resource is {resource.status}"
    if resource.archived_at is not None:
        # Put away on purpose: work on it starts again only once someone takes it back.
        return "The resource is archived; unarchive it first"
    if is_busy(resource):
        return f"The resource is busy ({resource.status}); wait for its run to finish"
    return None


def drift_refusal(resource: Resource) -> str | None:
    """Why the resource's drift may not be reconciled or accepted now (None: it may)."""
    busy = idle_refusal(resource)
    if busy is not None:
        return busy
    if resource.status != S.PROVISIONED:
        return f"Only a provisioned resource has drift to fix (it is {resource.status})"
    if not resource.drifted:
        return "No drift was found at the last check: there is nothing to fix"
    return None


def drift_summary(resource: Resource) -> dict[str, Any]:
    details = resource.drift_details or {}
    return {
        "drift_run": details.get("run"),
        "resources": [r.get("address") for r in details.get("resources") or []],
        "outputs": list(details.get("outputs") or []),
    }


def drift_checked(run: Run, summary: dict[str, Any], found: Found) -> None:
    """A drift check succeeded: store its result on the resource and act on a new drift:
    tell the owning team once, and reconcile at once where the environment says so."""
    with transaction.atomic():
        resource = _lock(run.resource_id)
        summary = {**summary, "drifted": found.drifted}
        if not lifecycle.end_run(
            run,
            RunStatus.SUCCEEDED,
            fields={"plan_summary": summary, "plan_text": plan_text(summary)},
        ):
            return
        dispatch.release(resource.pk, run.pk)
        _record_drift(resource, run, found)


def _record_drift(resource: Resource, run: Run, found: Found) -> None:
    now = timezone.now()
    fields: dict[str, Any] = {
        "drifted": found.drifted,
        "drift_details": found.details(run),
        "drift_checked_at": now,
    }
    new = found.drifted and found.digest != resource.drift_digest
    if not found.drifted:
        fields["drift_digest"] = ""  # gone: the same drift coming back is news again
    elif new:
        fields.update(drift_digest=found.digest, drift_notified_at=now)
    Resource.objects.filter(pk=resource.pk).update(**fields)
    for name, value in fields.items():
        setattr(resource, name, value)
    if not found.drifted:
        return
    audit.record(
        AuditAction.DRIFT_DETECTED,
        target=resource,
        details={
            "run": run.pk,
            "resources": [r.get("address") for r in found.resources],
            "outputs": found.outputs,
            "new": new,
        },
    )
    if not new:
        return  # the same drift as last time: told already, not every run
    auto = bool(resource.environment.auto_reconcile_drift)
    if auto:
        refusal = drift_refusal(resource)
        if refusal is None:
            # The platform reconciles on behalf of whoever caused the drift check.
            queue_plan(
                resource,
                current(resource),
                cause=Cause.of_run(run, "drift found"),
                event=E.CHANGE_PLANNED,
                action=AuditAction.DRIFT_RECONCILE_REQUESTED,
                details={**drift_summary(resource), "automatic": True},
            )
        else:
            auto = False
            audit.record(
                AuditAction.DRIFT_AUTO_RECONCILE_SKIPPED,
                target=resource,
                details={"run": run.pk, "reason": refusal},
            )
    resource_id = resource.pk
    transaction.on_commit(lambda: _tell_drift(resource_id, auto))


def _tell_drift(resource_id: int, reconciling: bool) -> None:
    from .notifications import notify_drift

    notify_drift(resource_id, reconciling=reconciling)
