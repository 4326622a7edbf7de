"""Drift found: a drift check's result is stored on the resource; a new drift is told to
the team once and, where the environment says so, reconciled at once by a plan."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from idp import audit

from .. import dispatch, lifecycle
from ..causes import Cause
from ..choices import AuditAction, RunStatus
from ..drift_found import Found
from ..models import Resource, Run
from ..plan_summary import plan_text
from ..proposals import current
from .guards import drift_refusal
from .requested import queue_plan
from .steps import E, lock_resource


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
        resource = lock_resource(run.resource_id)
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
    from ..notifications import notify_drift

    notify_drift(resource_id, reconciling=reconciling)
