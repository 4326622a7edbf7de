"""Taking a queued run: the resource's lock, the run marked running, the workflow told."""

from __future__ import annotations

from django.db import transaction

from .. import lifecycle, workflow
from ..choices import RUN_ACTIVE, RunKind, RunStatus
from ..dispatch import enqueue
from ..models import Resource, ResourceLock, Run
from ..references import waiting_for
from .dbretry import retry_locked


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
            workflow.run_cancelled(run, resource)
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
        workflow.run_started(run, resource)
        return run


def _waits_for_upstream(run: Run) -> bool:
    """A plan of a resource taking another's output waits until that one is applied."""
    if run.kind != RunKind.PLAN:
        return False
    return bool(waiting_for(run))
