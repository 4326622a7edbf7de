"""Beat housekeeping: re-send queued runs, reap runs whose worker died, sweep old plan dirs."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from idp import audit

from ..choices import RunStatus
from ..models import Resource, Run
from . import dispatch

log = logging.getLogger(__name__)

WORKER_LOST = "worker lost"


def sweep_queued_runs(older_than_seconds: int | None = None) -> int:
    """Re-send every run queued for longer than a short grace period; returns how many."""
    grace = older_than_seconds
    if grace is None:
        grace = int(getattr(settings, "IDP_SWEEP_GRACE_SECONDS", 30))
    cutoff = timezone.now() - timedelta(seconds=grace)
    ids = list(
        Run.objects.filter(status=RunStatus.QUEUED, created_at__lte=cutoff)
        .order_by("resource_id", "pk")
        .distinct()
        .values_list("pk", flat=True)
    )
    for run_id in ids:
        dispatch.send(run_id)
    return len(ids)


def reap_lost_runs() -> int:
    """Fail `running` runs with a stale heartbeat ("worker lost"), free their locks and
    the Terraform state lock their process left behind; returns how many."""
    from .backend import delete_state_lock

    reaped = 0
    cutoff = dispatch.stale_before()
    stale = Run.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=cutoff)
    for run_id, resource_id in list(stale.values_list("pk", "resource_id")):
        with transaction.atomic():
            # Row locks in the engine's order: the resource, then the run.
            resource = Resource.objects.select_for_update().get(pk=resource_id)
            run = Run.objects.select_for_update().filter(pk=run_id).first()
            if (
                run is None
                or run.status != RunStatus.RUNNING
                or (run.heartbeat_at and run.heartbeat_at >= cutoff)
            ):
                continue
            run.status = RunStatus.FAILED
            run.error = WORKER_LOST
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "error", "finished_at"])
            if run.kind != "drift":
                dispatch.settle_after_stop(
                    resource, f"Run {run.pk} ({run.kind}) failed: {WORKER_LOST}", run
                )
            dispatch.release(resource.pk, run.pk)
            audit.record(
                "run.worker_lost",
                target=run,
                team=resource.team,
                details={"worker": run.worker, "kind": run.kind},
            )
        try:
            delete_state_lock(resource)
        except Exception:  # noqa: BLE001 - the lock file may be gone or AWS unreachable
            log.warning("could not clear the state lock of resource %s", resource.pk)
        reaped += 1
    return reaped
