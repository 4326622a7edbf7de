"""Beat housekeeping: re-send queued runs, reap runs whose worker died, sweep working
directories, back up the Terraform state."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from idp.conf import setting

from .. import dispatch
from ..choices import RunKind, RunStatus
from ..models import Resource, Run

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
    """End `running` runs with a stale heartbeat ("worker lost"): the workflow compares the
    backend state with what the run started from and decides (failed and retryable, or
    outcome unknown and planned again); free their locks, the Terraform state lock their
    process left behind, and their working directories on this host; returns how many."""
    from .. import workflow
    from . import workdirs
    from .backend import delete_state_lock, read_state

    reaped = 0
    cutoff = dispatch.stale_before()
    stale = Run.objects.filter(status=RunStatus.RUNNING, heartbeat_at__lt=cutoff)
    for run_id, resource_id in list(stale.values_list("pk", "resource_id")):
        with transaction.atomic():
            # Row locks in the engine's order: the resource, then the run.
            resource = Resource.objects.select_for_update().get(pk=resource_id)
            lost = Run.objects.select_for_update().filter(pk=run_id).first()
            if (
                lost is None
                or lost.status != RunStatus.RUNNING
                or (lost.heartbeat_at and lost.heartbeat_at >= cutoff)
            ):
                continue
            now: workflow.StateVersion | None = None
            if lost.kind in (RunKind.APPLY, RunKind.DESTROY):
                try:
                    now = workflow.StateVersion.of_document(read_state(resource))
                except Exception:  # noqa: BLE001 - unreadable: the outcome is unknown
                    log.warning("could not read the state of resource %s", resource.pk)
                # The dead process's lock goes before a new plan may be sent (on commit).
                _clear_state_lock(resource, delete_state_lock)
            workflow.run_lost(lost, resource, now, error=WORKER_LOST)
        if lost.kind not in (RunKind.APPLY, RunKind.DESTROY):
            _clear_state_lock(resource, delete_state_lock)
        workdirs.remove_run_dirs(run_id)
        reaped += 1
    return reaped


def _clear_state_lock(resource: Resource, delete: Any) -> None:
    try:
        delete(resource)
    except Exception:  # noqa: BLE001 - the lock file may be gone or AWS unreachable
        log.warning("could not clear the state lock of resource %s", resource.pk)


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
