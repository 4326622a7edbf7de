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

from ..choices import RUN_ACTIVE, ResourceStatus, RunKind, RunStatus
from ..models import Resource, ResourceLock, Run
from .dbretry import retry_locked

log = logging.getLogger(__name__)


def send(run_id: int) -> None:
    """Send the Celery message for a run now; a broker outage is logged, the sweeper retries."""
    from django.conf import settings

    from ..tasks import execute_run

    # IDP_RUN_QUEUE routes Terraform runs to dedicated workers (`celery worker -Q …`).
    queue = getattr(settings, "IDP_RUN_QUEUE", None) or None
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
    actor: Any = None,
    version: Any = None,
    parameters: dict[str, Any] | None = None,
    is_destroy: bool = False,
    plan_run: Run | None = None,
) -> Run:
    """Create a queued run on the resource and queue it (inside the caller's transaction)."""
    run = Run.objects.create(
        resource=resource,
        kind=kind,
        status=RunStatus.QUEUED,
        template_version=version or resource.template_version,
        parameters=dict(resource.parameters if parameters is None else parameters),
        is_destroy=is_destroy,
        plan_run=plan_run,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
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
        now = timezone.now()
        fields = {"started_at": now, "heartbeat_at": now, "worker": worker[:200]}
        # Compare-and-set: where row locks are no-ops (SQLite), two duplicate messages must
        # still never both start the run.
        if not Run.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING, **fields
        ):
            return None
        ResourceLock.objects.get_or_create(resource=resource, defaults={"run": run})
        run.status = RunStatus.RUNNING
        for name, value in fields.items():
            setattr(run, name, value)
        status = running_status(run, resource)
        if status and resource.status != status:
            resource.status = status
            resource.save(update_fields=["status", "updated_at"])
        return run


def running_status(run: Run, resource: Resource) -> str | None:
    """The resource status while this run works on it (None: unchanged)."""
    if run.kind == RunKind.DRIFT:
        return None
    if run.kind == RunKind.PLAN:
        return ResourceStatus.DESTROYING if run.is_destroy else ResourceStatus.PLANNING
    if run.kind == RunKind.DESTROY or run.is_destroy:
        return ResourceStatus.DESTROYING
    return ResourceStatus.APPLYING


def release(resource_id: int, run_id: int) -> None:
    """Free the resource's lock (if this run holds it) and queue the next waiting run."""
    ResourceLock.objects.filter(resource_id=resource_id, run_id=run_id).delete()
    nxt = (
        Run.objects.filter(resource_id=resource_id, status=RunStatus.QUEUED).order_by("pk").first()
    )
    if nxt is not None:
        enqueue(nxt)


def settle_after_stop(resource: Resource, error: str, run: Run | None = None) -> None:
    """The resource status after a run stopped without success (failed, cancelled, lost).

    A plan changes nothing, so a provisioned resource whose re-plan stopped stays
    provisioned; anything else that was in flight is `failed`.
    """
    resource.last_error = error[:10000]
    plan_only = run is not None and run.kind == RunKind.PLAN and not run.is_destroy
    if plan_only and resource.provisioned_at and not resource.destroyed_at:
        resource.status = ResourceStatus.PROVISIONED
    elif resource.status in (
        ResourceStatus.PENDING,
        ResourceStatus.PLANNING,
        ResourceStatus.APPLYING,
        ResourceStatus.DESTROYING,
    ):
        resource.status = ResourceStatus.FAILED
    resource.save(update_fields=["status", "last_error", "updated_at"])


def finish_cancelled(run: Run, resource: Resource) -> None:
    """End a run as cancelled and settle its resource (caller holds the row locks)."""
    from idp import audit

    run.status = RunStatus.CANCELLED
    run.finished_at = timezone.now()
    run.error = run.error or "Cancelled"
    run.save(update_fields=["status", "finished_at", "error"])
    if (
        run.kind != RunKind.DRIFT
        and not Run.objects.filter(resource=resource, status__in=RUN_ACTIVE)
        .exclude(pk=run.pk)
        .exists()
    ):
        settle_after_stop(resource, f"Run {run.pk} ({run.kind}) was cancelled", run)
    release(resource.pk, run.pk)
    audit.record("run.cancelled", target=run, team=resource.team, details={"kind": run.kind})


def stale_before() -> Any:
    """Runs whose heartbeat is older than this are considered lost."""
    from django.conf import settings

    seconds = int(getattr(settings, "IDP_RUN_HEARTBEAT_TIMEOUT", 120))
    return timezone.now() - timedelta(seconds=seconds)
