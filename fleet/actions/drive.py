"""Driving a fleet upgrade one step: record what its runs did, then start what may start.

`advance(fleet_id)` is idempotent and safe to call from several places at once (the
nudges of its own actions and of lifecycle listeners, the beat sweeper): every start of
work claims its item with compare-and-set first, in the same transaction as the
provisioning action it calls, and the fleet's own status moves only by compare-and-set.

Planning: up to `parallelism` held upgrade plans in flight. Waves: the current wave's held
plans are released (up to `parallelism` applies in flight; where the environment needs
approval they go to the approvals inbox and wait there), the wave ends when every item of
it ended, and it pauses the fleet when its failure rate passes the threshold.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from idp import audit
from idp.actors import Person
from idp.services import ServiceError
from provisioning import actions as provisioning
from provisioning import workflow
from provisioning.actions import holds, proposals
from provisioning.choices import RUN_ACTIVE, ApprovalDecision, ResourceStatus, RunKind, RunStatus
from provisioning.models import Approval, Run

from ..choices import (
    ITEM_FINAL,
    ITEM_IN_FLIGHT,
    ITEM_NOT_APPLIED,
    AuditAction,
    FleetStatus,
    ItemStatus,
    PlanGroup,
)
from ..models import FleetItem, FleetUpgrade

log = logging.getLogger(__name__)

_RUN_HEAVY = ("plan_file", "plan_text", "plan_document", "plan_changes", "pending_state")


def group_of(summary: dict[str, Any] | None) -> PlanGroup:
    """What a succeeded plan does, as one group (the strongest action wins)."""
    summary = summary or {}
    actions = {str(r.get("action", "")) for r in summary.get("resources", []) or []}
    if "delete" in actions:
        return PlanGroup.DESTROY
    if any(a == "replace" or ("create" in a and "delete" in a) for a in actions):
        return PlanGroup.REPLACE
    if not summary.get("has_changes"):
        return PlanGroup.NO_OP
    return PlanGroup.UPDATE


def move(fleet: FleetUpgrade, to: FleetStatus, *, expect: Any = None, **fields: Any) -> bool:
    """Compare-and-set the fleet's status (from `expect`, default: the status it was read
    with); False when someone moved it first."""
    before = fleet.status if expect is None else expect
    values = {"status": to, "updated_at": timezone.now(), **fields}
    if not FleetUpgrade.objects.filter(pk=fleet.pk, status=before).update(**values):
        return False
    for name, value in values.items():
        setattr(fleet, name, value)
    return True


def _set(item: FleetItem, expect: str, **fields: Any) -> bool:
    """Compare-and-set one item (its status from `expect`)."""
    values = {"updated_at": timezone.now(), **fields}
    if not FleetItem.objects.filter(pk=item.pk, status=expect).update(**values):
        return False
    for name, value in values.items():
        setattr(item, name, value)
    return True


# --- recording what the runs did ----------------------------------------------------------


def _observe_plan(item: FleetItem, plan: Run) -> dict[str, Any] | None:
    if plan.status in RUN_ACTIVE:
        return None
    if plan.status != RunStatus.SUCCEEDED:
        return {
            "status": ItemStatus.PLAN_FAILED,
            "group": PlanGroup.PLAN_ERROR,
            "error": plan.error[:2000] or "The plan failed",
        }
    resource = item.resource
    resource.refresh_from_db(fields=["status", "proposal_after_run"])
    group = group_of(plan.plan_summary)
    held = holds.held_plan(resource)
    if held is not None and held.pk == plan.pk:
        return {"status": ItemStatus.PLANNED, "group": group}
    pending = proposals.pending_plan(resource)
    if resource.status == ResourceStatus.POLICY_FAILED and pending and pending.pk == plan.pk:
        return {
            "status": ItemStatus.POLICY_FAILED,
            "group": PlanGroup.POLICY_FAILED,
            "error": "The plan fails a mandatory policy",
        }
    return {
        "status": ItemStatus.SKIPPED,
        "group": group,
        "error": "The resource changed while its plan was held (re-planned, unlocked or withdrawn)",
    }


def _newest_apply(plan: Run) -> Run | None:
    return (
        Run.objects.filter(plan_run=plan, kind__in=(RunKind.APPLY, RunKind.DESTROY))
        .defer(*_RUN_HEAVY)
        .order_by("-pk")
        .first()
    )


def _observe_apply(item: FleetItem, plan: Run, apply: Run | None) -> dict[str, Any] | None:
    if apply is None and plan.status not in RUN_ACTIVE:
        # The resource first, then its apply: an approval committed between the two reads
        # (apply queued and status moved together) is then never mistaken for a withdrawal.
        item.resource.refresh_from_db(fields=["status", "proposal_after_run"])
        apply = _newest_apply(plan)
    if apply is not None and apply.outcome_unknown:
        # Lost after it changed the state: the item follows the workflow's refresh-and-plan
        # of the same change (never failed and retried onto the version before it).
        followed = workflow.carried_on_by(apply)
        if followed is None or followed.status in RUN_ACTIVE:
            return {"status": ItemStatus.APPLYING, "apply_run": apply}
        if followed.kind == RunKind.PLAN and followed.status != RunStatus.SUCCEEDED:
            error = f"The plan after a lost apply {followed.status}: {followed.error}"
            return {"status": ItemStatus.FAILED, "apply_run": apply, "error": error[:2000]}
        if followed.kind == RunKind.PLAN:
            return _observe_apply(item, followed, None)
        apply = followed
    if apply is not None:
        if apply.status in RUN_ACTIVE:
            return {"status": ItemStatus.APPLYING, "apply_run": apply}
        if apply.status == RunStatus.SUCCEEDED:
            return {"status": ItemStatus.APPLIED, "apply_run": apply, "error": ""}
        return {
            "status": ItemStatus.FAILED,
            "apply_run": apply,
            "error": apply.error[:2000] or f"The apply {apply.status}",
        }
    if plan.status in RUN_ACTIVE:
        return None  # planned again on release (its approval window had closed)
    resource = item.resource
    pending = proposals.pending_plan(resource)
    if resource.status == ResourceStatus.AWAITING_APPROVAL and pending and pending.pk == plan.pk:
        return {"status": ItemStatus.AWAITING_APPROVAL}
    if Approval.objects.filter(run=plan, decision=ApprovalDecision.REJECTED).exists():
        return {"status": ItemStatus.REJECTED, "error": "The plan was rejected"}
    return {
        "status": ItemStatus.SKIPPED,
        "error": "The plan was withdrawn, expired or superseded before it was applied",
    }


def _same(item: FleetItem, seen: dict[str, Any]) -> bool:
    for name, value in seen.items():
        if name == "apply_run":
            if item.apply_run_id != value.pk:
                return False
        elif getattr(item, name) != value:
            return False
    return True


def record_outcomes(fleet: FleetUpgrade) -> int:
    """Read the runs of the fleet's items in flight and record where each stands."""
    items = list(
        fleet.items.filter(
            status__in=(ItemStatus.PLANNING, ItemStatus.APPLYING, ItemStatus.AWAITING_APPROVAL)
        )
        .select_related("resource", "plan_run")
        .defer(*(f"plan_run__{name}" for name in _RUN_HEAVY))
    )
    plan_ids = [i.plan_run_id for i in items if i.plan_run_id]
    applies: dict[int, Run] = {}
    for run in (
        Run.objects.filter(plan_run_id__in=plan_ids, kind__in=(RunKind.APPLY, RunKind.DESTROY))
        .defer(*_RUN_HEAVY)
        .order_by("pk")
    ):
        if run.plan_run_id is not None:
            applies[run.plan_run_id] = run  # the newest apply of each plan
    changed = 0
    for item in items:
        plan = item.plan_run
        if plan is None:
            continue
        if item.status == ItemStatus.PLANNING:
            seen = _observe_plan(item, plan)
        else:
            seen = _observe_apply(item, plan, applies.get(plan.pk))
        if seen is None or _same(item, seen):
            continue
        changed += _set(item, item.status, **seen)
    return changed


# --- starting work --------------------------------------------------------------------------


def _start_plans(fleet: FleetUpgrade, actor: Person) -> int:
    in_flight = fleet.items.filter(status=ItemStatus.PLANNING).count()
    slots = max(fleet.parallelism - in_flight, 0)
    count = 0
    for item in fleet.items.filter(status=ItemStatus.PENDING).select_related("resource")[:slots]:
        with transaction.atomic():
            if not _set(item, ItemStatus.PENDING, status=ItemStatus.PLANNING):
                continue  # another driver took it
            try:
                started = provisioning.upgrade(
                    item.resource, fleet.target_version, actor=actor, hold=True
                )
            except ServiceError as exc:
                _set(
                    item,
                    ItemStatus.PLANNING,
                    status=ItemStatus.PLAN_FAILED,
                    group=PlanGroup.PLAN_ERROR,
                    error=exc.message[:2000],
                )
                continue
            _set(item, ItemStatus.PLANNING, plan_run=started.run)
            count += 1
    return count


def _release(fleet: FleetUpgrade, actor: Person) -> int:
    """Release held plans of the current wave, keeping at most `parallelism` applies busy."""
    in_flight = fleet.items.filter(status=ItemStatus.APPLYING).count()
    slots = max(fleet.parallelism - in_flight, 0)
    released = 0
    waiting = fleet.items.filter(wave=fleet.current_wave, status=ItemStatus.PLANNED)
    for item in waiting.select_related("resource")[:slots]:
        with transaction.atomic():
            if not _set(item, ItemStatus.PLANNED, status=ItemStatus.APPLYING):
                continue
            try:
                outcome = holds.release_held_plan(item.resource, actor=actor)
            except ServiceError as exc:
                _set(item, ItemStatus.APPLYING, status=ItemStatus.SKIPPED, error=exc.message)
                continue
            if outcome.apply_run is None:
                # Waits for approval (or was planned again): not an apply slot.
                _set(
                    item,
                    ItemStatus.APPLYING,
                    status=ItemStatus.AWAITING_APPROVAL,
                    plan_run=outcome.run,
                )
            else:
                _set(item, ItemStatus.APPLYING, apply_run=outcome.apply_run)
            released += 1
    return released


def wave_counts(fleet: FleetUpgrade, wave: int) -> dict[str, int]:
    """How many items of a wave are in which status (every status, zeros included)."""
    rows = fleet.items.filter(wave=wave).values("status").annotate(n=Count("pk"))
    counts = {status.value: 0 for status in ItemStatus}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def failure_rate(counts: dict[str, int]) -> tuple[int, int]:
    """(failed applies, applies the wave was to make) of a wave's counts."""
    total = sum(n for s, n in counts.items() if s not in ITEM_NOT_APPLIED)
    return counts[ItemStatus.FAILED], total


def _run_waves(fleet: FleetUpgrade, actor: Person) -> None:
    while fleet.status == FleetStatus.APPLYING:
        if fleet.current_wave >= len(fleet.waves):
            if move(fleet, FleetStatus.COMPLETED, finished_at=timezone.now()):
                audit.record(AuditAction.COMPLETED, target=fleet, team=fleet.team)
            return
        wave = fleet.current_wave
        name = fleet.waves[wave].get("name", str(wave + 1))
        counts = wave_counts(fleet, wave)
        failed, total = failure_rate(counts)
        if (
            failed > fleet.acknowledged_failures
            and total
            and failed * 100 > fleet.failure_threshold * total
        ):
            reason = (
                f"Wave {wave + 1} ({name}): {failed} of {total} applies failed "
                f"({failed * 100 // total}%), over the {fleet.failure_threshold}% threshold"
            )
            if move(fleet, FleetStatus.PAUSED, pause_reason=reason):
                audit.record(
                    AuditAction.AUTO_PAUSED,
                    target=fleet,
                    team=fleet.team,
                    details={"wave": wave + 1, "failed": failed, "of": total},
                )
            return
        if counts[ItemStatus.PLANNED]:
            _release(fleet, actor)
            counts = wave_counts(fleet, wave)
        if any(n for s, n in counts.items() if s not in ITEM_FINAL):
            return  # the wave is still at work (or waits for approvals)
        nxt = wave + 1
        updated = FleetUpgrade.objects.filter(
            pk=fleet.pk, status=FleetStatus.APPLYING, current_wave=wave
        ).update(current_wave=nxt, acknowledged_failures=0, updated_at=timezone.now())
        if not updated:
            return  # another driver moved on
        fleet.current_wave, fleet.acknowledged_failures = nxt, 0
        audit.record(
            AuditAction.WAVE_COMPLETED,
            target=fleet,
            team=fleet.team,
            details={"wave": wave + 1, "name": name, **{k: v for k, v in counts.items() if v}},
        )
        if nxt < len(fleet.waves):
            audit.record(
                AuditAction.WAVE_STARTED,
                target=fleet,
                team=fleet.team,
                details={"wave": nxt + 1, "name": fleet.waves[nxt].get("name")},
            )


def _finish_planning(fleet: FleetUpgrade) -> None:
    left = fleet.items.filter(status__in=(ItemStatus.PENDING, ItemStatus.PLANNING)).exists()
    if left:
        return
    to = FleetStatus.APPLYING if fleet.auto_apply else FleetStatus.PLANNED
    if not move(fleet, to, planned_at=timezone.now()):
        return
    groups = dict(
        fleet.items.exclude(group="").values_list("group").annotate(n=Count("pk")).order_by()
    )
    audit.record(AuditAction.PLANNED, target=fleet, team=fleet.team, details={"groups": groups})
    if to == FleetStatus.APPLYING and fleet.waves:
        audit.record(
            AuditAction.WAVE_STARTED,
            target=fleet,
            team=fleet.team,
            details={"wave": 1, "name": fleet.waves[0].get("name")},
        )


def _wind_down(fleet: FleetUpgrade, actor: Person) -> None:
    """A cancelled fleet: items not yet planned are cancelled, held plans discarded."""
    fleet.items.filter(status=ItemStatus.PENDING).update(
        status=ItemStatus.CANCELLED, updated_at=timezone.now()
    )
    for item in fleet.items.filter(status=ItemStatus.PLANNED).select_related("resource"):
        with transaction.atomic():
            if not _set(item, ItemStatus.PLANNED, status=ItemStatus.CANCELLED):
                continue
            try:
                holds.discard_held_plan(
                    item.resource, actor=actor, reason=f"fleet upgrade {fleet.pk} cancelled"
                )
            except ServiceError as exc:
                _set(item, ItemStatus.CANCELLED, error=exc.message)


def advance(fleet_id: int) -> str:
    """One step of the fleet: record outcomes, then plan, release or wind down. Returns
    the fleet's status after the step."""
    fleet = (
        FleetUpgrade.objects.select_related("target_version", "team", "created_by")
        .filter(pk=fleet_id)
        .first()
    )
    if fleet is None:
        return "gone"
    record_outcomes(fleet)
    # A fleet whose creator is gone acts as nobody: every action refuses it.
    actor: Person = fleet.created_by or AnonymousUser()
    if fleet.status == FleetStatus.PLANNING:
        _start_plans(fleet, actor)
        record_outcomes(fleet)  # plans refused at once (busy, …) end planning sooner
        _finish_planning(fleet)
    if fleet.status == FleetStatus.APPLYING:
        _run_waves(fleet, actor)
    if fleet.status == FleetStatus.CANCELLED:
        _wind_down(fleet, actor)
    return str(fleet.status)


def needs_driving() -> list[int]:
    """Fleets the sweeper drives: the active ones, and cancelled ones still winding down
    (held plans to discard, and released ones whose outcome is still to record)."""
    winding = Q(status=FleetStatus.CANCELLED) & Q(
        items__status__in=(ItemStatus.PENDING, ItemStatus.PLANNED, *ITEM_IN_FLIGHT)
    )
    active = Q(
        status__in=(
            FleetStatus.PLANNING,
            FleetStatus.APPLYING,
            FleetStatus.PAUSED,
            FleetStatus.PLANNED,
        )
    )
    return list(
        FleetUpgrade.objects.filter(active | winding).values_list("pk", flat=True).distinct()
    )
