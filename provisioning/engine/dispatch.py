"""Dispatching runs: queue them on commit, one lock per resource, the next run when it frees.

The database is the source of truth: a run is a row in `queued`; the Celery message is
only a nudge. A lost message is re-sent by the sweeper, a duplicate one finds the run no
longer queued and does nothing.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from idp.conf import setting

from .. import lifecycle
from ..causes import Cause
from ..choices import RUN_ACTIVE, ResourceStatus, RunKind, RunStatus
from ..models import Resource, ResourceLock, Run
from .dbretry import retry_locked

log = logging.getLogger(__name__)


def send(run_id: int) -> None:
    """Send the Celery message for a run now; a broker outage is logged, the sweeper retries."""

    from ..tasks import execute_run

    # IDP_RUN_QUEUE routes Terraform runs to dedicated workers (`celery worker -Q …`).
    queue = setting("IDP_RUN_QUEUE") or None
    try:
        if queue:
            execute_run.apply_async((run_id,), queue=queue)
        else:
            execute_run.apply_async((run_id,))
    except Exception:  # noqa: BLE001 - any broker error: the run stays queued in the database
        log.warning(
            "could not send run %s to the broker; the sweeper will retry", run_id, exc_info=True
        )


def enqueue(run: Run) -> None:
    """Send the run to a worker once the current transaction commits."""
    run_id = run.pk
    transaction.on_commit(lambda: send(run_id))


def new_run(
    resource: Resource,
    kind: str,
    *,
    actor: Any,
    version: Any = None,
    parameters: dict[str, Any] | None = None,
    sensitive: str | None = None,
    is_destroy: bool = False,
    plan_run: Run | None = None,
    refresh_only: bool = False,
    recovers: Run | None = None,
) -> Run:
    """Create a queued run on the resource and queue it (inside the caller's transaction).

    A run carries its own inputs: the non-sensitive parameters and the encrypted sensitive
    ones (the resource's current ones unless given), so a proposal never touches the
    resource before it is applied. `actor` is the person acting or a `Cause` (who caused a
    run the platform starts); nothing else is taken, so four eyes never loses an author."""
    cause = Cause.of(actor)
    run = Run.objects.create(
        resource=resource,
        kind=kind,
        status=lifecycle.first_run_status(),
        template_version=version or resource.template_version,
        parameters=dict(resource.parameters if parameters is None else parameters),
        sensitive_parameters=resource.sensitive_parameters if sensitive is None else sensitive,
        is_destroy=is_destroy,
        plan_run=plan_run,
        refresh_only=refresh_only,
        recovers=recovers,
        **cause.fields(),
    )
    enqueue(run)
    return run


@retry_locked
def acquire(run_id: int, worker: str) -> Run | None:
    """Take the resource's lock for this run and mark it running.

    Returns None when there is nothing to do: the run is no longer queued (a duplicate
    message) or another run holds the lock (this one stays queued until that one ends).
    A cancel requested while queued ends the run here as `cancelled`.
    """
    resource_id = Run.objects.filter(pk=run_id).values_list("resource_id", flat=True).first()
    if resource_id is None:
        return None
    with transaction.atomic():
        # Row locks always in the same order (resource, then run) so workers never deadlock.
        resource = Resource.objects.select_for_update().get(pk=resource_id)
        run = Run.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status != RunStatus.QUEUED:
            return None
        if run.cancel_requested:
            finish_cancelled(run, resource)
            return None
        lock = ResourceLock.objects.filter(resource=resource).select_related("run").first()
        if lock is not None and lock.run_id != run.pk:
            if lock.run.status in RUN_ACTIVE:
                return None
            lock.delete()  # held by a run that already ended: stale
        # Runs on one resource go in creation order: an older queued run goes first.
        older = (
            Run.objects.filter(resource=resource, status=RunStatus.QUEUED, pk__lt=run.pk)
            .exclude(pk=run.pk)
            .order_by("pk")
            .first()
        )
        if older is not None:
            enqueue(older)
            return None
        if _waits_for_upstream(run):
            return None  # stays queued: the upstream's next move (or the sweeper) sends it
        # Compare-and-set: where row locks are no-ops (SQLite), two duplicate messages must
        # still never both start the run.
        if not lifecycle.start_run(run, worker=worker):
            return None
        ResourceLock.objects.get_or_create(resource=resource, defaults={"run": run})
        from .. import workflow  # late: the workflow queues runs through this module

        workflow.run_started(run, resource)
        return run


def _waits_for_upstream(run: Run) -> bool:
    """A plan of a resource taking another's output waits until that one is applied."""
    if run.kind != RunKind.PLAN:
        return False
    from ..references import waiting_for

    return bool(waiting_for(run))


def running_status(run: Run) -> ResourceStatus:
    """The resource status while this (non-drift) run is queued or works on it."""
    if run.is_destroy or run.kind == RunKind.DESTROY:
        return ResourceStatus.DESTROYING
    return ResourceStatus.PLANNING if run.kind == RunKind.PLAN else ResourceStatus.APPLYING


def release(resource_id: int, run_id: int) -> None:
    """Free the resource's lock (if this run holds it) and queue the next waiting run."""
    ResourceLock.objects.filter(resource_id=resource_id, run_id=run_id).delete()
    nxt = (
        Run.objects.filter(resource_id=resource_id, status=RunStatus.QUEUED).order_by("pk").first()
    )
    if nxt is not None:
        enqueue(nxt)


def stop_run(
    run: Run,
    resource: Resource,
    to: RunStatus,
    error: str,
    *,
    expect: RunStatus = RunStatus.RUNNING,
    actor: Any = None,
    action: str | None = None,
    discard: bool = True,
    nothing_applied: bool = False,
) -> bool:
    """End a run without success; the workflow settles its resource (`workflow.run_stopped`)."""
    from .. import workflow  # late: the workflow queues runs through this module

    return workflow.run_stopped(
        run,
        resource,
        to,
        error,
        expect=expect,
        actor=actor,
        action=action,
        discard=discard,
        nothing_applied=nothing_applied,
    )


def finish_cancelled(run: Run, resource: Resource, *, actor: Any = None) -> None:
    """End a queued run as cancelled and settle its resource (caller holds the row locks)."""
    stop_run(
        run,
        resource,
        RunStatus.CANCELLED,
        run.error or "Cancelled",
        expect=RunStatus.QUEUED,
        actor=actor,
    )


def stale_before() -> Any:
    """Runs whose heartbeat is older than this are considered lost."""

    seconds = setting("IDP_RUN_HEARTBEAT_TIMEOUT")
    return timezone.now() - timedelta(seconds=seconds)
