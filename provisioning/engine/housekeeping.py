"""Beat housekeeping: re-send queued runs, reap runs whose worker died, sweep working
directories, back up the Terraform state."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from idp.conf import setting

from ..choices import AuditAction, RunStatus
from ..models import Resource, Run
from . import dispatch

log = logging.getLogger(__name__)

WORKER_LOST = "worker lost"


def sweep_queued_runs(older_than_seconds: int | None = None) -> int:
    """Re-send every run queued for longer than a short grace period; returns how many."""
    grace = older_than_seconds
    if grace is None:
        grace = setting("IDP_SWEEP_GRACE_SECONDS")
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
            dispatch.stop_run(
                run,
                resource,
                RunStatus.FAILED,
                WORKER_LOST,
                action=AuditAction.RUN_WORKER_LOST,
            )
        try:
            delete_state_lock(resource)
        except Exception:  # noqa: BLE001 - the lock file may be gone or AWS unreachable
            log.warning("could not clear the state lock of resource %s", resource.pk)
        reaped += 1
    return reaped


def sweep_workdirs() -> dict[str, int]:
    """Remove this host's leftover working directories: those of runs no longer active
    (a killed worker's, variables files and all) and plan directories never applied."""
    from . import workdirs

    return {"run_dirs": workdirs.sweep_run_dirs(), "kept_plan_dirs": workdirs.sweep()}


def back_up_states() -> dict[str, object]:
    """Copy every state object, and every environment's published outputs in Parameter
    Store, to a new backup generation; then keep only the newest
    IDP_STATE_BACKUP_GENERATIONS generations."""
    from .backend import backup_bucket, backup_states, new_generation_prefix, prune_backups
    from .parameter_backup import export_parameters

    prefix = new_generation_prefix(timezone.now())
    copied = backup_states(backup_bucket(), prefix)
    parameters = export_parameters(prefix)
    removed = prune_backups(setting("IDP_STATE_BACKUP_GENERATIONS"))
    log.info(
        "state backup %s: %s objects, parameters of %s environments (%s failed), "
        "%s old generations removed",
        prefix,
        len(copied),
        len(parameters["exported"]),
        len(parameters["errors"]),
        len(removed),
    )
    return {"prefix": prefix, "copied": len(copied), "parameters": parameters, "removed": removed}
