"""Recording what a successful run did, and the next step of the resource's lifecycle."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from idp import audit

from ..choices import ApprovalDecision, ResourceStatus, RunKind, RunStatus
from ..models import Resource, Run
from . import dispatch
from .backend import publish_outputs, remove_outputs
from .crypto import decrypt_bytes, decrypt_json, encrypt_bytes, encrypt_json
from .dbretry import retry_locked
from .terraform import plan_text, summarize_plan

log = logging.getLogger(__name__)


def _succeed(run: Run, **fields: Any) -> bool:
    """Mark the run succeeded unless someone else already ended it; True when it was ours."""
    fields.update(status=RunStatus.SUCCEEDED, finished_at=timezone.now())
    return bool(Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(**fields))


def _lock_resource(run: Run) -> Resource:
    return (
        Resource.objects.select_for_update()
        .select_related("team", "environment")
        .get(pk=run.resource_id)
    )


@retry_locked
def finish_plan(run: Run, plan: dict[str, Any], plan_file: bytes) -> None:
    """Store the plan and its hash; wait for approval, or queue the apply at once."""
    summary = summarize_plan(plan)
    digest = hashlib.sha256(plan_file).hexdigest()
    with transaction.atomic():
        resource = _lock_resource(run)
        needs_approval = bool(
            run.template_version.requires_approval(resource.environment)
            or resource.requires_platform_admin
        )
        summary["requires_approval"] = needs_approval
        if not _succeed(
            run,
            plan_file=encrypt_bytes(plan_file),
            plan_hash=digest,
            plan_summary=summary,
            plan_text=plan_text(summary),
        ):
            return
        run.refresh_from_db()
        nothing_to_do = not summary["has_changes"] and not run.is_destroy
        if nothing_to_do and resource.provisioned_at and not resource.destroyed_at:
            # A no-op plan on a provisioned resource: nothing to approve or apply.
            resource.status = ResourceStatus.PROVISIONED
            resource.parameters = run.parameters
            resource.template_version = run.template_version
            resource.save(update_fields=["status", "parameters", "template_version", "updated_at"])
            nxt = "no changes"
        elif needs_approval:
            resource.status = ResourceStatus.AWAITING_APPROVAL
            resource.save(update_fields=["status", "updated_at"])
            nxt = "awaiting approval"
        else:
            apply_run = dispatch.new_run(
                resource,
                RunKind.DESTROY if run.is_destroy else RunKind.APPLY,
                version=run.template_version,
                parameters=run.parameters,
                is_destroy=run.is_destroy,
                plan_run=run,
            )
            resource.status = dispatch.running_status(apply_run, resource) or resource.status
            resource.save(update_fields=["status", "updated_at"])
            nxt = f"apply run {apply_run.pk} queued"
        dispatch.release(resource.pk, run.pk)
        audit.record(
            "run.succeeded",
            target=run,
            team=resource.team,
            details={
                "kind": run.kind,
                "add": summary["add"],
                "change": summary["change"],
                "destroy": summary["destroy"],
                "next": nxt,
            },
        )


SUPERSEDED = "A newer plan superseded this one; it was not applied"


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
    if (plan.plan_summary or {}).get("requires_approval"):
        approval = plan.approvals.filter(decision=ApprovalDecision.APPROVED).order_by("-pk").first()
        if approval is None:
            return "The plan was not approved; it was refused and re-planned"
        if approval.plan_hash != digest:
            return "The plan file differs from the approved one; it was refused and re-planned"
        if approval.expires_at and approval.expires_at < timezone.now():
            return "The approval expired before the apply; the plan was refused and re-planned"
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
        if run.is_destroy:
            removed = remove_outputs(resource, creds)
            log_writer.write(f"Removed {removed} parameters from Parameter Store")
        else:
            names = publish_outputs(resource, plain, secret, creds)
            log_writer.write(f"Published {len(names)} outputs to Parameter Store")
    except Exception as exc:  # noqa: BLE001 - Terraform's work is done; report, don't undo
        log.warning("Parameter Store update failed for resource %s: %s", resource.pk, exc)
        log_writer.write(f"Warning: Parameter Store update failed: {exc}")
    log_writer.flush()
    _record_apply(run, plain, secret)


@retry_locked
def _record_apply(run: Run, plain: dict[str, Any], secret: dict[str, Any]) -> None:
    with transaction.atomic():
        resource = _lock_resource(run)
        if not _succeed(run):
            return
        now = timezone.now()
        plan = run.plan_run
        if run.is_destroy:
            resource.status = ResourceStatus.DESTROYED
            resource.destroyed_at = now
            resource.outputs = {}
            resource.sensitive_outputs = ""
            resource.sensitive_output_names = []
            action = "resource.destroyed"
        else:
            resource.status = ResourceStatus.PROVISIONED
            resource.provisioned_at = resource.provisioned_at or now
            resource.outputs = plain
            resource.sensitive_outputs = encrypt_json(secret)
            resource.sensitive_output_names = sorted(secret)
            if plan is not None:
                resource.parameters = plan.parameters
                resource.template_version = plan.template_version
            action = "resource.provisioned"
        resource.last_error = ""
        resource.drifted = False
        resource.drift_details = {}
        resource.save()
        dispatch.release(resource.pk, run.pk)
        audit.record(
            action,
            target=resource,
            details={"run": run.pk, "outputs": sorted(plain), "sensitive_outputs": sorted(secret)},
        )


@retry_locked
def finish_drift(run: Run, plan: dict[str, Any]) -> None:
    """Flag the resource as drifted when the refreshed state or outputs differ from the record."""
    summary = summarize_plan(plan)
    with transaction.atomic():
        resource = _lock_resource(run)
        planned = (plan.get("planned_values", {}) or {}).get("outputs", {}) or {}
        known = {**resource.outputs, **decrypt_json(resource.sensitive_outputs)}
        changed_outputs = sorted(
            name
            for name in set(planned) | set(known)
            if name in planned
            and planned[name].get("value") != known.get(name)
            or name not in planned
        )
        drifted = bool(summary["drift"] or changed_outputs)
        details = (
            {
                "run": run.pk,
                "resources": summary["drift"],
                "outputs": changed_outputs,
            }
            if drifted
            else {}
        )
        summary["drifted"] = drifted
        if not _succeed(run, plan_summary=summary, plan_text=plan_text(summary)):
            return
        resource.drifted = drifted
        resource.drift_details = details
        resource.drift_checked_at = timezone.now()
        resource.save(update_fields=["drifted", "drift_details", "drift_checked_at", "updated_at"])
        dispatch.release(resource.pk, run.pk)
        if drifted:
            audit.record("resource.drift_detected", target=resource, details=details)
