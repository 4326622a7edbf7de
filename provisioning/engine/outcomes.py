"""What a run did, handed to the workflow: the engine records, the workflow decides.

The plan's stored forms (encrypted file and document, hash, summary, masked changes), the
apply's outputs (sensitive ones encrypted) and Parameter Store are the engine's part; what
happens next to the resource is `provisioning.workflow`'s.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from .. import workflow
from ..crypto import decrypt_json, encrypt_bytes, encrypt_json
from ..drift_found import found_drift
from ..models import Resource, Run
from ..plan_diff import Redact, plan_changes
from ..plan_summary import plan_text, summarize_plan
from ..sensitivity import split_outputs
from ..workflow import APPROVAL_EXPIRED, SUPERSEDED
from ..workflow import apply_refusal as plan_refusal
from .backend import publish_outputs, remove_outputs
from .dbretry import retry_locked
from .redact import Redactor

log = logging.getLogger(__name__)

__all__ = ["APPROVAL_EXPIRED", "SUPERSEDED", "finish_apply", "finish_plan", "plan_refusal"]


@retry_locked
def finish_plan(
    run: Run, plan: dict[str, Any], plan_file: bytes, redact: Redact | None = None
) -> None:
    """Hand a successful plan to the workflow: its summary, hash, attribute-level changes
    (masked by `redact`, the run's redactor) and encrypted file and document."""
    summary = summarize_plan(plan)
    secrets = decrypt_json(run.sensitive_parameters)
    # Without the runner's redactor, the run's own secret inputs are still never stored.
    # A refresh-only plan (accepting drift) changes nothing: what it records is its drift.
    shown = {**plan, "resource_changes": plan.get("resource_drift")} if run.refresh_only else plan
    outcome = workflow.PlanOutcome(
        plan=plan,
        file=encrypt_bytes(plan_file),
        digest=hashlib.sha256(plan_file).hexdigest(),
        summary=summary,
        text=plan_text(summary),
        changes=plan_changes(shown, redact or Redactor(secrets.values())),
        document=encrypt_json(plan),
    )
    workflow.plan_finished(run, outcome, {**run.parameters, **secrets})


def finish_apply(run: Run, outputs: dict[str, Any], creds: dict[str, str], log_writer: Any) -> None:
    """Record outputs (sensitive ones encrypted), publish them to SSM, settle the resource."""
    resource = Resource.objects.select_related("team", "environment", "service").get(
        pk=run.resource_id
    )
    plain, secret = split_outputs(outputs, resource)
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


@retry_locked
def _record_apply(run: Run, plain: dict[str, Any], secret: dict[str, Any]) -> None:
    workflow.apply_finished(run, plain, encrypt_json(secret), sorted(secret))


def record_pushed_state(run: Run, outputs: dict[str, Any], creds: dict[str, str]) -> bool:
    """The state an apply could not store is in the backend now: publish the outputs (from
    the state) and let the workflow record the apply. False when the resource had moved on
    already (pushed twice)."""
    resource = Resource.objects.select_related("team", "environment", "service").get(
        pk=run.resource_id
    )
    plain, secret = split_outputs(outputs, resource)
    try:
        note = _publish(run, resource, plain, secret, creds)
    except Exception as exc:  # noqa: BLE001 - the state is stored; report, don't undo
        log.warning("Parameter Store update failed for resource %s: %s", resource.pk, exc)
        note = f"Parameter Store update failed: {exc}"
    return _record_push(run, plain, secret, note)


@retry_locked
def _record_push(run: Run, plain: dict[str, Any], secret: dict[str, Any], note: str) -> bool:
    return workflow.state_pushed(run, plain, encrypt_json(secret), sorted(secret), note)


@retry_locked
def finish_drift(run: Run, plan: dict[str, Any], redact: Redact | None = None) -> None:
    """Hand what the refresh-only plan found to the workflow (the flag, expected → actual,
    once-per-new-drift news and auto-reconcile are its rules)."""
    summary = summarize_plan(plan)
    resource = Resource.objects.select_related("environment").get(pk=run.resource_id)
    secrets = Redactor(
        [
            *decrypt_json(resource.sensitive_parameters).values(),
            *decrypt_json(resource.sensitive_outputs).values(),
        ]
    )
    found = found_drift(resource, plan, summary, redact or secrets)
    workflow.drift_checked(run, summary, found)
