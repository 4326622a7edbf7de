"""Runs as jobs of the job framework (idp/jobs): taking a queued run (the resource's lock,
the run marked running, the workflow told) and taking back a lost one (the workflow
decides). The framework sends, sweeps, beats and finds lost runs; every status write is the
lifecycle's, through these two hooks."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction

from idp.conf import setting
from idp.jobs.registry import JobKind

from .. import lifecycle, workflow
from ..choices import RUN_ACTIVE, RunKind, RunStatus
from ..dispatch import RUN_KIND, enqueue
from ..models import Resource, ResourceLock, Run
from ..references import waiting_for
from .dbretry import retry_locked

log = logging.getLogger(__name__)

WORKER_LOST = "worker lost"
# The task by its path, as the framework sends every kind: the surfaces sit above the engine.
EXECUTE_RUN = "provisioning.tasks.execute_run"


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


def take_back(run_id: int, cutoff: datetime) -> bool:
    """End a `running` run whose heartbeat is older than `cutoff` ("worker lost"): never run
    again blindly: the workflow compares the backend state with what the run started from
    and decides (failed and retryable, or outcome unknown and planned again). Frees its
    lock, the Terraform state lock its process left behind, and its working directories on
    this host. False when it beat, or ended, meanwhile."""
    from . import state_cache, workdirs
    from .backend import delete_state_lock

    resource_id = Run.objects.filter(pk=run_id).values_list("resource_id", flat=True).first()
    if resource_id is None:
        return False
    with transaction.atomic():
        # Row locks in the engine's order: the resource, then the run.
        resource = Resource.objects.select_for_update().get(pk=resource_id)
        lost = Run.objects.select_for_update().filter(pk=run_id).first()
        if (
            lost is None
            or lost.status != RunStatus.RUNNING
            or (lost.heartbeat_at and lost.heartbeat_at >= cutoff)
        ):
            return False
        now: workflow.StateVersion | None = None
        if lost.kind in (RunKind.APPLY, RunKind.DESTROY):
            try:
                now = state_cache.version(resource)
            except Exception:  # noqa: BLE001 - unreadable: the outcome is unknown
                log.warning("could not read the state of resource %s", resource.pk)
            # The dead process's lock goes before a new plan may be sent (on commit).
            _clear_state_lock(resource, delete_state_lock)
        workflow.run_lost(lost, resource, now, error=WORKER_LOST)
    if lost.kind not in (RunKind.APPLY, RunKind.DESTROY):
        _clear_state_lock(resource, delete_state_lock)
    workdirs.remove_run_dirs(run_id)
    return True


def _clear_state_lock(resource: Resource, delete: Any) -> None:
    try:
        delete(resource)
    except Exception:  # noqa: BLE001 - the lock file may be gone or AWS unreachable
        log.warning("could not clear the state lock of resource %s", resource.pk)


def run_queue(run_id: int) -> str | None:
    """IDP_RUN_QUEUE routes Terraform runs to dedicated workers (`celery worker -Q …`)."""
    return setting("IDP_RUN_QUEUE") or None


RUN_JOB = JobKind(
    name=RUN_KIND,
    task=EXECUTE_RUN,
    model=Run,
    label="run",
    timeout=lambda: setting("IDP_RUN_HEARTBEAT_TIMEOUT"),
    grace=lambda: setting("IDP_SWEEP_GRACE_SECONDS"),
    queue=run_queue,
    claim=acquire,
    reap=take_back,
)
