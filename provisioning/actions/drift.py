"""Drift that gets fixed: what a drift check found (expected → actual), who hears of it
(once per new drift), and the two ways out.

- `reconcile`: a normal plan of the resource's current configuration, applied like any
  change (through approval where the environment's policy wants it). Whoever starts it is
  an author of the change, so they never approve it (four eyes).
- `accept_drift`: a `-refresh-only` plan, applied (same approval policy): the real values
  become the record (state and outputs). Audited when requested and when applied.
- `record_check`: the engine hands a drift check's refreshed plan here, with the resource
  row locked. It stores the flag, the expected → actual changes (masked) and a fingerprint;
  a drift whose fingerprint differs from the one last notified is news: the owning team is
  told (on commit) and, in an environment with `auto_reconcile_drift`, it is reconciled.
  A check that finds no drift clears the fingerprint, so a drift that comes back is news.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from idp import audit
from idp.rbac import has_team_perm
from idp.services import Conflict, Forbidden, ServiceError

from ..causes import Cause
from ..choices import AuditAction, ResourceStatus
from ..engine.crypto import decrypt_json
from ..engine.plan_diff import Redact, output_change, resource_change
from ..models import Resource, Run
from . import proposals
from .changes import ensure_idle, locked, start_plan

DRIFT_ACTIONS = frozenset({"reconcile", "accept_drift"})
# At most this many expected → actual rows are kept on the resource (the count stays exact).
CHANGE_LIMIT = 200
GONE = "(deleted outside the platform)"
EXISTS = "(exists)"


# --- what a drift check found ----------------------------------------------------------


@dataclass
class Found:
    """A drift check's result: the rows shown to people and the fingerprint of the raw values."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    digest: str = ""

    @property
    def drifted(self) -> bool:
        return bool(self.resources or self.outputs)

    def details(self, run: Run) -> dict[str, Any]:
        if not self.drifted:
            return {}
        return {
            "run": run.pk,
            "resources": self.resources,
            "outputs": self.outputs,
            "changes": self.changes[:CHANGE_LIMIT],
            "change_count": len(self.changes),
        }


def _attribute_path(name: str, path: str) -> str:
    return f"{name}{path}" if path.startswith("[") else f"{name}.{path}"


def _resource_rows(item: dict[str, Any], redact: Redact) -> list[dict[str, Any]]:
    """Expected → actual rows of one `resource_drift` entry (sensitive values masked)."""
    entry = resource_change(item, redact)
    if entry is None:
        return []
    address = entry["address"]
    if entry["action"] == "delete":
        return [_row("resource", address, "", EXISTS, GONE, False)]
    rows = []
    for attr in entry["attributes"]:
        if not attr["changed"]:
            continue
        if attr.get("nested"):
            for inner in attr["nested"]:
                path = _attribute_path(attr["name"], str(inner["path"]))
                rows.append(
                    _row(
                        "resource",
                        address,
                        path,
                        inner["before"],
                        inner["after"],
                        inner["sensitive"],
                    )
                )
        else:
            rows.append(
                _row(
                    "resource",
                    address,
                    attr["name"],
                    attr["before"],
                    attr["after"],
                    attr["sensitive"],
                )
            )
    return rows


def _row(
    kind: str, address: str, attribute: str, expected: Any, actual: Any, sensitive: bool
) -> dict[str, Any]:
    return {
        "kind": kind,
        "address": address,
        "attribute": attribute,
        "expected": expected,
        "actual": actual,
        "sensitive": bool(sensitive),
    }


def found_drift(
    resource: Resource, plan: dict[str, Any], summary: dict[str, Any], redact: Redact
) -> Found:
    """What the refreshed plan says differs from the record: objects changed behind the
    platform's back (`resource_drift`, as recorded → as found) and outputs whose real value
    is not the recorded one (recorded → real)."""
    found = Found(resources=list(summary.get("drift") or []))
    raw: list[Any] = []
    for item in plan.get("resource_drift") or []:
        if not isinstance(item, dict):
            continue
        change = item.get("change") or {}
        raw.append([item.get("address"), change.get("before"), change.get("after")])
        found.changes += _resource_rows(item, redact)
    planned = (plan.get("planned_values", {}) or {}).get("outputs", {}) or {}
    known = {**resource.outputs, **decrypt_json(resource.sensitive_outputs)}
    secret = set(resource.sensitive_output_names or [])
    for name in sorted(set(planned) | set(known)):
        now = planned.get(name)
        if now is not None and now.get("value") == known.get(name):
            continue
        actual = now.get("value") if now is not None else None
        hidden = name in secret or bool(now and now.get("sensitive"))
        shown = output_change(
            name,
            {
                "actions": ["update"],
                "before": known.get(name),
                "after": actual,
                "before_sensitive": hidden,
                "after_sensitive": hidden,
            },
            redact,
        )
        assert shown is not None
        found.outputs.append(name)
        raw.append([f"output.{name}", known.get(name), actual])
        found.changes.append(
            _row("output", f"output.{name}", "", shown["before"], shown["after"], hidden)
        )
    if found.drifted:
        # Keyed with the site's secret: the raw values (secrets among them) cannot be guessed
        # back from a stored fingerprint, and any change of a value makes a new one.
        text = json.dumps(raw, sort_keys=True, default=str)
        found.digest = salted_hmac("provisioning.drift", text, algorithm="sha256").hexdigest()
    return found


def record_check(resource: Resource, run: Run, found: Found) -> None:
    """Store a drift check's result on the (locked) resource and act on a new drift: tell the
    owning team once, and reconcile at once where the environment says so."""
    now = timezone.now()
    details = found.details(run)
    fields: dict[str, Any] = {
        "drifted": found.drifted,
        "drift_details": details,
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
    auto = auto_reconciles(resource)
    if auto:
        refusal = drift_refusal(resource, None)
        if refusal is None:
            # The platform reconciles on behalf of whoever caused the drift check.
            reconcile_locked(resource, actor=Cause.of_run(run, "drift found"), automatic=True)
        else:
            auto = False
            audit.record(
                AuditAction.DRIFT_AUTO_RECONCILE_SKIPPED,
                target=resource,
                details={"run": run.pk, "reason": refusal.message},
            )
    resource_id = resource.pk
    transaction.on_commit(lambda: _tell(resource_id, auto))


def _tell(resource_id: int, reconciling: bool) -> None:
    from ..notifications import notify_drift

    notify_drift(resource_id, reconciling=reconciling)


def auto_reconciles(resource: Resource) -> bool:
    """Whether drift found on the resource is reconciled without anyone asking (the
    environment's `auto_reconcile_drift`, meant for sandbox and dev)."""
    return bool(resource.environment.auto_reconcile_drift)


# --- the two ways out ----------------------------------------------------------------------


def drift_refusal(resource: Resource, user: Any) -> ServiceError | None:
    """Why `user` may not reconcile or accept the resource's drift now (None: they may; a
    `user` of None is the platform itself). Team members may; viewers never."""
    if user is not None and not has_team_perm(user, resource.team, "use_team"):
        return Forbidden(
            f"Your role in {resource.team.slug} does not allow you to reconcile or accept drift"
        )
    try:
        ensure_idle(resource)
    except Conflict as busy:
        return busy
    if resource.status != ResourceStatus.PROVISIONED:
        return Conflict(f"Only a provisioned resource has drift to fix (it is {resource.status})")
    if not resource.drifted:
        return Conflict("No drift was found at the last check: there is nothing to fix")
    return None


def drift_actions(resource: Resource, user: Any) -> set[str]:
    """The drift actions `user` may take on the resource now (for pages and the API)."""
    return set(DRIFT_ACTIONS) if drift_refusal(resource, user) is None else set()


def _summary(resource: Resource) -> dict[str, Any]:
    details = resource.drift_details or {}
    return {
        "drift_run": details.get("run"),
        "resources": [r.get("address") for r in details.get("resources") or []],
        "outputs": list(details.get("outputs") or []),
    }


def reconcile_locked(resource: Resource, *, actor: Any, automatic: bool = False) -> Run:
    """Queue the reconcile plan on a resource the caller locked and checked (`actor`: the
    person asking, or the `Cause` of an automatic reconcile)."""
    return start_plan(
        resource,
        proposals.current(resource),
        actor=actor,
        action=AuditAction.DRIFT_RECONCILE_REQUESTED,
        details={**_summary(resource), "automatic": automatic},
    )


@transaction.atomic
def reconcile(resource: Resource, *, actor: Any) -> Run:
    """Bring a drifted resource back to its declared configuration: a normal plan of what
    was last applied, then its apply (after approval where the environment needs it)."""
    resource = locked(resource)
    refusal = drift_refusal(resource, actor)
    if refusal is not None:
        raise refusal
    return reconcile_locked(resource, actor=actor)


@transaction.atomic
def accept_drift(resource: Resource, *, actor: Any) -> Run:
    """Record the real values as intended: a `-refresh-only` plan, applied (after approval
    where the environment needs it). The configuration stays what it is; the state and the
    outputs take the real values."""
    resource = locked(resource)
    refusal = drift_refusal(resource, actor)
    if refusal is not None:
        raise refusal
    return start_plan(
        resource,
        proposals.current(resource),
        actor=actor,
        action=AuditAction.DRIFT_ACCEPT_REQUESTED,
        details=_summary(resource),
        refresh_only=True,
    )


def record_accepted(resource: Resource, run: Run) -> None:
    """The apply of a refresh-only plan succeeded: audit what was accepted (the drift
    details are cleared with it). Called by the engine with the resource locked."""
    plan = run.plan_run
    audit.record(
        AuditAction.DRIFT_ACCEPTED,
        actor=plan.created_by if plan is not None else None,
        target=resource,
        details={"run": run.pk, "plan_run": run.plan_run_id, **_summary(resource)},
    )
