"""The lifecycle of resources and runs: the transition table and the only writers of status.

Every change of `Resource.status` or `Run.status` goes through `transition` or `end_run`
/ `start_run` here, called by `provisioning.workflow` (which decides the move) and by the
engine when it takes a run (`start_run`): they check the move is in the table, write it with
compare-and-set (a stale caller is refused, never overwrites), record the audit event and
tell the listeners other apps registered (on commit). `tests/provisioning/test_lifecycle_table.py`
enumerates the table, and `docs/lifecycle.md` is drawn from it (`manage.py lifecycle_diagram`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from idp import audit
from idp.services import Conflict

from .choices import AuditAction, ResourceEvent, ResourceStatus, RunStatus
from .models import Resource, Run

S = ResourceStatus
E = ResourceEvent

# (event, from, to): every move a resource may make. Nothing else writes its status.
RESOURCE_TRANSITIONS: frozenset[tuple[ResourceEvent, ResourceStatus, ResourceStatus]] = frozenset(
    {
        # A first plan starts on a worker.
        (E.PLAN_STARTED, S.PENDING, S.PLANNING),
        # Day-2 work queues a new plan: a change, a re-plan, an upgrade, a retry.
        *((E.CHANGE_PLANNED, src, S.PLANNING) for src in (S.PROVISIONED, S.FAILED)),
        (E.CHANGE_PLANNED, S.AWAITING_APPROVAL, S.PLANNING),
        *((E.DESTROY_REQUESTED, src, S.DESTROYING) for src in (S.PROVISIONED, S.FAILED)),
        (E.DESTROY_REQUESTED, S.AWAITING_APPROVAL, S.DESTROYING),
        (E.EXPIRED, S.PROVISIONED, S.DESTROYING),
        (E.EXPIRED, S.FAILED, S.DESTROYING),
        # A plan ended well.
        (E.PLAN_AWAITS_APPROVAL, S.PLANNING, S.AWAITING_APPROVAL),
        (E.PLAN_AWAITS_APPROVAL, S.DESTROYING, S.AWAITING_APPROVAL),
        (E.PLAN_NO_CHANGES, S.PLANNING, S.PROVISIONED),
        (E.APPLY_QUEUED, S.PLANNING, S.APPLYING),
        # Decisions on a pending plan.
        (E.APPROVED, S.AWAITING_APPROVAL, S.APPLYING),
        (E.APPROVED, S.AWAITING_APPROVAL, S.DESTROYING),
        (E.BREAK_GLASS, S.AWAITING_APPROVAL, S.APPLYING),
        (E.BREAK_GLASS, S.AWAITING_APPROVAL, S.DESTROYING),
        (E.REJECTED, S.AWAITING_APPROVAL, S.REJECTED),  # a first request: it never existed
        (E.REJECTED, S.AWAITING_APPROVAL, S.PROVISIONED),  # a change: what exists stays
        (E.APPROVAL_EXPIRED, S.AWAITING_APPROVAL, S.PROVISIONED),
        (E.APPROVAL_EXPIRED, S.AWAITING_APPROVAL, S.FAILED),
        (E.CANCELLED, S.AWAITING_APPROVAL, S.PROVISIONED),  # a change withdrawn by its team
        (E.CANCELLED, S.AWAITING_APPROVAL, S.REJECTED),  # a request withdrawn before approval
        # A plan that fails a mandatory policy waits for a fix, an override or a policy
        # change; a policy change can also catch a plan that was waiting for approval.
        (E.PLAN_POLICY_FAILED, S.PLANNING, S.POLICY_FAILED),
        (E.PLAN_POLICY_FAILED, S.DESTROYING, S.POLICY_FAILED),
        (E.PLAN_POLICY_FAILED, S.AWAITING_APPROVAL, S.POLICY_FAILED),
        *(
            (event, S.POLICY_FAILED, to)
            for event in (E.POLICY_OVERRIDDEN, E.POLICY_PASSED)
            for to in (S.AWAITING_APPROVAL, S.APPLYING, S.DESTROYING)
        ),
        (E.CHANGE_PLANNED, S.POLICY_FAILED, S.PLANNING),
        (E.DESTROY_REQUESTED, S.POLICY_FAILED, S.DESTROYING),
        (E.CANCELLED, S.POLICY_FAILED, S.PROVISIONED),
        (E.CANCELLED, S.POLICY_FAILED, S.REJECTED),
        (E.APPROVAL_EXPIRED, S.POLICY_FAILED, S.PROVISIONED),
        (E.APPROVAL_EXPIRED, S.POLICY_FAILED, S.FAILED),
        # An apply ended well.
        (E.APPLIED, S.APPLYING, S.PROVISIONED),
        (E.DESTROYED, S.DESTROYING, S.DESTROYED),
        # Terraform applied but could not store its state: the state is kept with the run
        # (encrypted) and pushed when the backend answers again; nothing else may run.
        (E.STATE_WRITE_FAILED, S.APPLYING, S.STATE_PENDING),
        (E.STATE_WRITE_FAILED, S.DESTROYING, S.STATE_PENDING),
        (E.STATE_PUSHED, S.STATE_PENDING, S.PROVISIONED),
        (E.STATE_PUSHED, S.STATE_PENDING, S.DESTROYED),
        # A run stopped without success (failed, cancelled, worker lost, unlocked).
        *((E.RUN_STOPPED, src, S.FAILED) for src in (S.PENDING, S.PLANNING)),
        *((E.RUN_STOPPED, src, S.FAILED) for src in (S.APPLYING, S.DESTROYING)),
        # A plan, or an apply that never reached Terraform, leaves what exists as it was.
        *((E.RUN_STOPPED, src, S.PROVISIONED) for src in (S.PLANNING, S.APPLYING, S.DESTROYING)),
        # A run lost after it changed the state: its outcome is unknown, so its change is
        # planned again (Terraform refreshes first) to show what is really there.
        (E.OUTCOME_UNKNOWN, S.APPLYING, S.PLANNING),
        (E.OUTCOME_UNKNOWN, S.DESTROYING, S.DESTROYING),
        # An apply whose stored plan may not be applied plans again.
        (E.PLAN_REFUSED, S.FAILED, S.PLANNING),
        (E.PLAN_REFUSED, S.FAILED, S.DESTROYING),
    }
)

# (from, to): every move a run may make.
RUN_TRANSITIONS: frozenset[tuple[RunStatus, RunStatus]] = frozenset(
    {
        (RunStatus.QUEUED, RunStatus.RUNNING),
        (RunStatus.QUEUED, RunStatus.CANCELLED),
        (RunStatus.RUNNING, RunStatus.SUCCEEDED),
        (RunStatus.RUNNING, RunStatus.FAILED),
        (RunStatus.RUNNING, RunStatus.CANCELLED),
    }
)

RUN_EVENTS = {
    RunStatus.FAILED: AuditAction.RUN_FAILED,
    RunStatus.CANCELLED: AuditAction.RUN_CANCELLED,
}


class TransitionRefused(Conflict):
    """A move the table does not allow, or one from a status that changed meanwhile."""


@dataclass(frozen=True)
class Moved:
    """What listeners are told after a resource changed status (sent on commit)."""

    resource_id: int
    team_id: int
    event: ResourceEvent
    before: str
    after: str


_listeners: list[Callable[[Moved], None]] = []


def on_resource_moved(listener: Callable[[Moved], None]) -> None:
    """Register a listener (an app's `ready()`): called on commit after every transition."""
    if listener not in _listeners:
        _listeners.append(listener)


def allowed(event: ResourceEvent, before: str, after: str) -> bool:
    return (event, before, after) in RESOURCE_TRANSITIONS


def transition(
    resource: Resource,
    to: ResourceStatus,
    event: ResourceEvent,
    *,
    actor: Any = None,
    fields: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
    action: str | None = None,
    record: bool = True,
) -> Resource:
    """Move the resource to `to` by `event`: check the table, compare-and-set the row from the
    status the caller read, write `fields` with it, audit and notify. Raises
    TransitionRefused (409) for a move the table forbids or a status changed meanwhile."""
    before = resource.status
    if not allowed(event, before, to):
        raise TransitionRefused(f"A resource that is {before} cannot be {event.label.lower()}")
    values = {**(fields or {}), "status": to, "updated_at": timezone.now()}
    if not Resource.objects.filter(pk=resource.pk, status=before).update(**values):
        raise TransitionRefused("The resource changed meanwhile; reload and try again")
    for name, value in values.items():
        setattr(resource, name, value)
    if record:
        audit.record(
            action or event.value,
            actor=actor,
            target=resource,
            details={"from": before, "to": to, **(details or {})},
        )
    moved = Moved(resource.pk, resource.team_id, event, before, to)
    transaction.on_commit(lambda: _notify(moved))
    return resource


def first_status() -> ResourceStatus:
    """The status a new resource is created with (the one write outside `transition`)."""
    return ResourceStatus.PENDING


def first_run_status() -> RunStatus:
    """The status a new run is created with (the one write outside `start_run`/`end_run`)."""
    return RunStatus.QUEUED


def _notify(moved: Moved) -> None:
    for listener in list(_listeners):
        listener(moved)


# --- runs --------------------------------------------------------------------------------


def _move_run(run: Run, before: RunStatus, to: RunStatus, values: dict[str, Any]) -> bool:
    if (before, to) not in RUN_TRANSITIONS:
        raise TransitionRefused(f"A run that is {before} cannot become {to}")
    values = {**values, "status": to}
    if not Run.objects.filter(pk=run.pk, status=before).update(**values):
        return False
    for name, value in values.items():
        setattr(run, name, value)
    return True


def start_run(run: Run, *, worker: str) -> bool:
    """queued → running (compare-and-set: two duplicate messages never both start a run)."""
    now = timezone.now()
    return _move_run(
        run,
        RunStatus.QUEUED,
        RunStatus.RUNNING,
        {"started_at": now, "heartbeat_at": now, "worker": worker[:200]},
    )


def end_run(
    run: Run,
    to: RunStatus,
    *,
    expect: RunStatus = RunStatus.RUNNING,
    error: str = "",
    fields: dict[str, Any] | None = None,
    actor: Any = None,
    action: str | None = None,
    details: dict[str, Any] | None = None,
) -> bool:
    """End a run that is `expect` as succeeded, failed or cancelled; False when someone else
    (the reaper, an operator, a duplicate worker) ended it first. Audited as `run.<status>`
    (or `action`); a succeeded run is audited by its outcome, which knows what it did."""
    values: dict[str, Any] = {**(fields or {}), "finished_at": timezone.now()}
    if to != RunStatus.SUCCEEDED:
        values["error"] = (error or run.error or to.label)[:20000]
    if not _move_run(run, expect, to, values):
        return False
    event = action or RUN_EVENTS.get(to)
    if event is not None and to != RunStatus.SUCCEEDED:
        audit.record(
            str(event),
            actor=actor,
            target=run,
            details={"kind": run.kind, "error": values["error"][:500], **(details or {})},
        )
    return True


# --- the diagram in the docs ---------------------------------------------------------------


def mermaid() -> str:
    """The resource and run transition tables as Mermaid state diagrams (docs/lifecycle.md)."""
    lines = ["### Resource", "", "```mermaid", "stateDiagram-v2", f"    [*] --> {first_status()}"]
    edges: dict[tuple[str, str], list[str]] = {}
    for event, src, to in RESOURCE_TRANSITIONS:
        edges.setdefault((src, to), []).append(event.label.lower())
    lines += [f"    {a} --> {b}: {', '.join(sorted(ls))}" for (a, b), ls in sorted(edges.items())]
    lines += [f"    {final} --> [*]" for final in ("destroyed", "rejected")]
    lines += ["```", "", "### Run", "", "```mermaid", "stateDiagram-v2"]
    lines.append(f"    [*] --> {first_run_status()}")
    lines += [f"    {src} --> {to}" for src, to in sorted(RUN_TRANSITIONS)]
    lines += [f"    {final} --> [*]" for final in ("succeeded", "failed", "cancelled")]
    lines.append("```")
    return "\n".join(lines) + "\n"
