"""Recording what a successful run did, and the next step of the resource's lifecycle."""

from __future__ import annotations

import hashlib
import logging
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from idp import audit

from .. import lifecycle, plan_checks
from ..actions.changes import HELD
from ..actions.proposals import adopt_fields, changed_names, current, proposed
from ..approval_policy import ApprovalPolicy, Requirement
from ..causes import Cause, chain_of
from ..choices import (
    ApprovalDecision,
    AuditAction,
    ResourceEvent,
    ResourceStatus,
    RunKind,
    RunStatus,
)
from ..models import Resource, Run
from . import dispatch
from .backend import publish_outputs, remove_outputs
from .crypto import decrypt_bytes, decrypt_json, encrypt_bytes, encrypt_json
from .dbretry import retry_locked
from .plan_diff import Redact, plan_changes
from .redact import Redactor
from .terraform import plan_counts, plan_text, summarize_plan

log = logging.getLogger(__name__)


def _succeed(run: Run, **fields: Any) -> bool:
    """Mark the run succeeded unless someone else already ended it; True when it was ours."""
    return lifecycle.end_run(run, RunStatus.SUCCEEDED, fields=fields)


def _lock_resource(run: Run) -> Resource:
    return (
        Resource.objects.select_for_update()
        .select_related("team", "environment")
        .get(pk=run.resource_id)
    )


@retry_locked
def finish_plan(
    run: Run, plan: dict[str, Any], plan_file: bytes, redact: Redact | None = None
) -> None:
    """Store the plan, its hash, its attribute-level changes (masked by `redact`, the run's
    redactor) and what it needs (the approval policy, asked once per plan, from this plan's
    own inputs); then wait for approval, or queue the apply at once."""
    summary = summarize_plan(plan)
    # Without the runner's redactor, the run's own secret inputs are still never stored.
    # A refresh-only plan (accepting drift) changes nothing: what it records is its drift.
    shown = {**plan, "resource_changes": plan.get("resource_drift")} if run.refresh_only else plan
    changes = plan_changes(
        shown, redact or Redactor(decrypt_json(run.sensitive_parameters).values())
    )
    digest = hashlib.sha256(plan_file).hexdigest()
    with transaction.atomic():
        resource = _lock_resource(run)
        inputs = {**run.parameters, **decrypt_json(run.sensitive_parameters)}
        requirement = ApprovalPolicy.of(resource).requirement(
            resource, run.template_version, inputs, destroy=run.is_destroy
        )
        summary["requires_approval"] = requirement.needed
        # A held plan (`changes.upgrade(hold=True)`) waits for its release after it succeeds.
        held = bool(
            (
                Run.objects.filter(pk=run.pk).values_list("approval_requirement", flat=True).first()
                or {}
            ).get(HELD)
        )
        if not _succeed(
            run,
            plan_file=encrypt_bytes(plan_file),
            plan_hash=digest,
            plan_summary=summary,
            plan_text=plan_text(summary),
            plan_changes=changes,
            approval_requirement={**requirement.as_json(), **({HELD: True} if held else {})},
        ):
            return
        estimate = requirement.estimated_monthly_cost
        gate_fields: dict[str, Any] = {"requires_platform_admin": requirement.platform_admin}
        if estimate is not None:
            gate_fields["estimated_monthly_cost"] = Decimal(estimate)
        # Accepting drift is applied even when Terraform plans nothing: the apply records
        # the real outputs.
        nothing_to_do = not (summary["has_changes"] or run.is_destroy or run.refresh_only)
        # A no-op plan may adopt its proposal unreviewed only when the proposal changes
        # nothing either: a staged secret Terraform ignores today is still reviewed.
        unchanged = not changed_names(current(resource), proposed(run)) and (
            run.template_version_id == resource.template_version_id
        )
        details = {"run": run.pk, **plan_counts(summary)}
        # The plan's checks (policies) run on the exact plan, after it is stored; their
        # results are kept with it and an approval is bound to them.
        checks = plan_checks.check_plan(run, resource, plan, _decimal(estimate))
        Run.objects.filter(pk=run.pk).update(
            policy_summary=checks, plan_document=encrypt_json(plan)
        )
        run.policy_summary = checks
        if (
            nothing_to_do
            and not held
            and (unchanged or not requirement.needed)
            and resource.provisioned_at
            and resource.status == ResourceStatus.PLANNING
        ):
            # A no-op plan on a provisioned resource: nothing to approve or apply.
            lifecycle.transition(
                resource,
                ResourceStatus.PROVISIONED,
                ResourceEvent.PLAN_NO_CHANGES,
                fields=adopt_fields(resource, run),
                details=details,
            )
        elif plan_checks.is_blocked(checks):
            lifecycle.transition(
                resource,
                ResourceStatus.POLICY_FAILED,
                ResourceEvent.PLAN_POLICY_FAILED,
                fields=gate_fields,
                details={**details, "policy": policy_counts(checks)},
            )
        elif held:
            # Nothing goes on until the plan is released: the resource stays `planning`.
            Resource.objects.filter(pk=resource.pk).update(**gate_fields)
            audit.record(AuditAction.PLAN_HELD, target=resource, details=details)
            from ..actions.holds import plan_held  # late: holds builds on this module

            plan_held(resource.pk, run.pk)
        else:
            advance(
                resource,
                run,
                requirement,
                gate_fields=gate_fields,
                details=details,
                waits=ResourceEvent.PLAN_AWAITS_APPROVAL,
                applies=ResourceEvent.APPLY_QUEUED,
            )
        dispatch.release(resource.pk, run.pk)
        audit.record(
            AuditAction.RUN_SUCCEEDED,
            target=run,
            team=resource.team,
            details={"kind": run.kind, **plan_counts(summary)},
        )


def _decimal(value: Any) -> Decimal | None:
    return Decimal(value) if value is not None else None


def policy_counts(checks: dict[str, Any]) -> dict[str, Any]:
    """The counts of a plan's check summary, for audit details and messages."""
    keys = ("passed", "warnings", "failures", "blocking", "overridable")
    return {key: checks.get(key) for key in keys}


def advance(
    resource: Resource,
    run: Run,
    requirement: Requirement,
    *,
    gate_fields: dict[str, Any],
    details: dict[str, Any],
    waits: ResourceEvent,
    applies: ResourceEvent,
    actor: Any = None,
) -> None:
    """A plan that passed (or was let past) its checks: wait for approval, or queue the
    apply (or destroy) of exactly its file. Called with the resource locked."""
    if requirement.needed:
        lifecycle.transition(
            resource,
            ResourceStatus.AWAITING_APPROVAL,
            waits,
            actor=actor,
            fields=gate_fields,
            details={**details, "requirement": requirement.as_json()},
        )
        return
    apply_run = queue_apply(resource, run, actor=actor)
    Resource.objects.filter(pk=resource.pk).update(**gate_fields)
    if resource.status == ResourceStatus.PLANNING:
        to = ResourceStatus.APPLYING
    elif resource.status == ResourceStatus.POLICY_FAILED:
        to = ResourceStatus.DESTROYING if run.is_destroy else ResourceStatus.APPLYING
    else:
        return  # a destroy plan: the resource is already destroying
    lifecycle.transition(
        resource, to, applies, actor=actor, details={**details, "apply_run": apply_run.pk}
    )


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
        actor=Cause(
            f"apply of plan {plan.pk}",
            frozenset(touched),
            plan,
            by=person,
        ),
        version=plan.template_version,
        parameters=plan.parameters,
        sensitive=plan.sensitive_parameters,
        is_destroy=plan.is_destroy,
        plan_run=plan,
        refresh_only=plan.refresh_only,
    )


SUPERSEDED = "A newer plan superseded this one; it was not applied"
APPROVAL_EXPIRED = "The approval expired before the apply; the proposed change was discarded"


def plan_refusal(run: Run) -> str | None:
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


def split_outputs(outputs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    plain = {k: v.get("value") for k, v in outputs.items() if not v.get("sensitive")}
    secret = {k: v.get("value") for k, v in outputs.items() if v.get("sensitive")}
    return plain, secret


def finish_apply(run: Run, outputs: dict[str, Any], creds: dict[str, str], log_writer: Any) -> None:
    """Record outputs (sensitive ones encrypted), publish them to SSM, settle the resource."""
    resource = Resource.objects.select_related("team", "environment", "service").get(
        pk=run.resource_id
    )
    plain, secret = split_outputs(outputs)
    try:
        log_writer.write(_publish(run, resource, plain, secret, creds))
    except Exception as exc:  # noqa: BLE001 - Terraform's work is done; report, don't undo
        log.warning("Parameter Store update failed for resource %s: %s", resource.pk, exc)
        log_writer.write(f"Warning: Parameter Store update failed: {exc}")
    log_writer.flush()
    _record_apply(run, plain, secret)


def _publish(
    run: Run,
    resource: Resource,
    plain: dict[str, Any],
    secret: dict[str, Any],
    creds: dict[str, str],
) -> str:
    """Parameter Store after an apply or destroy: the outputs written, or removed."""
    if run.is_destroy:
        return f"Removed {remove_outputs(resource, creds)} parameters from Parameter Store"
    names = publish_outputs(resource, plain, secret, creds)
    return f"Published {len(names)} outputs to Parameter Store"


def _applied(
    run: Run, resource: Resource, plain: dict[str, Any], secret: dict[str, Any]
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
        return fields, ResourceStatus.DESTROYED
    fields.update(
        provisioned_at=resource.provisioned_at or now,
        outputs=plain,
        sensitive_outputs=encrypt_json(secret),
        sensitive_output_names=sorted(secret),
    )
    return fields, ResourceStatus.PROVISIONED


@retry_locked
def _record_apply(run: Run, plain: dict[str, Any], secret: dict[str, Any]) -> None:
    """The apply succeeded: its plan's proposal becomes the resource's configuration."""
    with transaction.atomic():
        resource = _lock_resource(run)
        if not _succeed(run):
            return
        if run.refresh_only:
            from ..actions.drift import record_accepted

            record_accepted(resource, run)
        fields, to = _applied(run, resource, plain, secret)
        event = ResourceEvent.DESTROYED if run.is_destroy else ResourceEvent.APPLIED
        lifecycle.transition(
            resource,
            to,
            event,
            fields=fields,
            details={"run": run.pk, "outputs": sorted(plain), "sensitive_outputs": sorted(secret)},
        )
        dispatch.release(resource.pk, run.pk)


def record_pushed_state(run: Run, outputs: dict[str, Any], creds: dict[str, str]) -> bool:
    """The state an apply could not store is in the backend now: record the apply as the
    resource's configuration (outputs from the state) and leave `state_pending`. False when
    the resource had moved on already (pushed twice)."""
    plain, secret = split_outputs(outputs)
    resource = Resource.objects.select_related("team", "environment", "service").get(
        pk=run.resource_id
    )
    try:
        note = _publish(run, resource, plain, secret, creds)
    except Exception as exc:  # noqa: BLE001 - the state is stored; report, don't undo
        log.warning("Parameter Store update failed for resource %s: %s", resource.pk, exc)
        note = f"Parameter Store update failed: {exc}"
    return _record_push(run, plain, secret, note)


@retry_locked
def _record_push(run: Run, plain: dict[str, Any], secret: dict[str, Any], note: str) -> bool:
    with transaction.atomic():
        resource = _lock_resource(run)
        Run.objects.filter(pk=run.pk).update(pending_state=None, pending_state_retry_at=None)
        if resource.status != ResourceStatus.STATE_PENDING:
            return False
        fields, to = _applied(run, resource, plain, secret)
        lifecycle.transition(
            resource,
            to,
            ResourceEvent.STATE_PUSHED,
            fields=fields,
            details={
                "run": run.pk,
                "outputs": sorted(plain),
                "sensitive_outputs": sorted(secret),
                "parameter_store": note,
            },
        )
        return True


@retry_locked
def finish_drift(run: Run, plan: dict[str, Any], redact: Redact | None = None) -> None:
    """Record what the refresh-only plan found (`actions.drift` owns the rules: the flag,
    expected → actual, once-per-new-drift news, auto-reconcile)."""
    from ..actions import drift

    summary = summarize_plan(plan)
    with transaction.atomic():
        resource = _lock_resource(run)
        secrets = Redactor(
            [
                *decrypt_json(resource.sensitive_parameters).values(),
                *decrypt_json(resource.sensitive_outputs).values(),
            ]
        )
        found = drift.found_drift(resource, plan, summary, redact or secrets)
        summary["drifted"] = found.drifted
        if not _succeed(run, plan_summary=summary, plan_text=plan_text(summary)):
            return
        dispatch.release(resource.pk, run.pk)
        drift.record_check(resource, run, found)
