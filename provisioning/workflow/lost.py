"""Run lost (the reaper found its worker dead): the pure `after_loss` compares the backend
state with what the run started from. Unchanged: failed and retryable. Moved: outcome
unknown, the proposal kept and a refresh-and-plan of the same change queued, never an
apply of the configuration before it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .. import dispatch, lifecycle
from ..causes import Cause
from ..choices import RUN_ACTIVE, AuditAction, RunKind, RunStatus
from ..crypto import encrypt_json
from ..models import Resource, Run
from ..proposals import current, proposed
from .steps import E, S
from .stopped import run_stopped


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
