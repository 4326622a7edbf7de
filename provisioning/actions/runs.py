"""Runs: cancel one, clear a stale lock, read a log page."""

from __future__ import annotations

from django.db import transaction

from idp import audit
from idp.actors import Person
from idp.db import lock
from idp.logchunks import read_page
from idp.services import Conflict

from .. import dispatch, workflow
from ..choices import RUN_ACTIVE, AuditAction, RunStatus
from ..models import Resource, ResourceLock, Run, RunLogChunk
from . import rules
from .changes import locked
from .results import RunStopped, Unlocked

LOG_PAGE = 64 * 1024


@transaction.atomic
def cancel_run(run: Run, *, actor: Person) -> RunStopped:
    """Cancel a queued run at once (its proposal is discarded); ask a running one to stop
    (Terraform is interrupted, and the run ends as cancelled)."""
    resource = locked(run.resource)  # the resource row first, then the run (lock order)
    run = lock(Run.objects.select_related("resource__team")).get(pk=run.pk)
    rules.require_on(actor, run.resource, "use_team", "cancel runs")
    if run.status not in RUN_ACTIVE:
        raise Conflict(f"The run is already {run.status}")
    audit.record(
        AuditAction.RUN_CANCEL_REQUESTED,
        actor=actor,
        target=run,
        team=run.resource.team,
        details={"kind": run.kind, "status": run.status},
    )
    if run.status == RunStatus.QUEUED:
        workflow.run_cancelled(run, resource, actor=actor)
    elif not run.cancel_requested:
        Run.objects.filter(pk=run.pk).update(cancel_requested=True)
        run.cancel_requested = True
    return RunStopped(resource, run, RunStatus(run.status))


@transaction.atomic
def unlock(resource: Resource, *, actor: Person | None) -> Unlocked:
    """Clear a stale lock (the platform's and Terraform's) so the next run can start; says
    what was removed: the platform lock (and the run it ended), and whether a Terraform
    state lock file was there."""
    from ..engine.backend import delete_state_lock

    resource = locked(resource)
    if actor is not None and getattr(actor, "is_authenticated", False):
        rules.require_on(actor, resource, "maintain_team", "unlock resources")
    lock = ResourceLock.objects.filter(resource=resource).select_related("run").first()
    run = lock.run if lock else None
    if (
        run is not None
        and run.status == RunStatus.RUNNING
        and run.heartbeat_at
        and (run.heartbeat_at > dispatch.stale_before())
    ):
        raise Conflict(f"Run {run.pk} is still running; cancel it instead")
    ended = False
    if run is not None and run.status == RunStatus.RUNNING:
        ended = workflow.run_stopped(
            run, resource, RunStatus.FAILED, "Unlocked by an operator", actor=actor
        )
    if lock is not None:
        ResourceLock.objects.filter(pk=lock.pk).delete()
    state_lock = bool(delete_state_lock(resource))
    dispatch.release(resource.pk, run.pk if run else 0)
    unlocked = Unlocked(resource, lock is not None, run if ended else None, state_lock)
    audit.record(AuditAction.UNLOCKED, actor=actor, target=resource, details=unlocked.removed)
    return unlocked


def read_run_log(run: Run, offset: int = 0, limit: int = LOG_PAGE) -> tuple[str, int, bool]:
    """A page of the run's log from a character offset: (text, next_offset, complete)."""
    offset = max(0, int(offset or 0))
    limit = max(1, min(int(limit or LOG_PAGE), 1024 * 1024))
    text, next_offset = read_page(RunLogChunk.objects.filter(run=run), offset, limit)
    status = Run.objects.filter(pk=run.pk).values_list("status", "log_size").first()
    complete = bool(status and status[0] not in RUN_ACTIVE and next_offset >= status[1])
    return text, next_offset, complete
