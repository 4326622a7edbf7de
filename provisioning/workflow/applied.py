"""Apply finished: the plan's proposal becomes the resource's configuration with the
outputs (`provisioned`, or `destroyed`); a state Terraform could not store waits with the
run (`state_pending`) until it is pushed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from idp import audit

from .. import dispatch, lifecycle
from ..approval_policy import Requirement
from ..choices import AuditAction, ResourceStatus, RunStatus
from ..models import Resource, Run
from ..proposals import adopt_fields
from .drift import drift_summary
from .steps import E, S, lock_resource


def _applied_fields(
    run: Run, resource: Resource, plain: dict[str, Any], secret: str, secret_names: list[str]
) -> tuple[dict[str, Any], ResourceStatus]:
    """What the resource holds once the run's change is stored: the plan's proposal becomes
    its configuration, with the outputs (or, after a destroy, nothing)."""
    now = timezone.now()
    plan = run.plan_run
    # Applied: whatever drift there was is gone (reconciled or accepted); a drift found
    # later, even the same one, is new. Until the next check, the drift panel says which
    # check found it and which run resolved it.
    fields: dict[str, Any] = {
        "last_error": "",
        "drifted": False,
        "drift_details": _drift_resolved(resource, run),
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


def _drift_resolved(resource: Resource, run: Run) -> dict[str, Any]:
    """The drift details an apply leaves: none when there was no drift, else which check
    found it (run and time) and which run resolved it (`accepted`: a refresh-only apply)."""
    if not resource.drifted:
        return {}
    checked = resource.drift_checked_at
    return {
        "resolved": {
            "found_by": (resource.drift_details or {}).get("run"),
            "found_at": checked.isoformat() if checked is not None else None,
            "by": run.pk,
            "accepted": bool(run.refresh_only),
        }
    }


def apply_finished(run: Run, plain: dict[str, Any], secret: str, secret_names: list[str]) -> None:
    """The apply succeeded: its plan's proposal becomes the resource's configuration, with
    the outputs (`secret`: the sensitive ones, encrypted)."""
    with transaction.atomic():
        resource = lock_resource(run.resource_id)
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
        resource = lock_resource(run.resource_id)
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
