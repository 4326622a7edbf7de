"""Beat housekeeping of the engine: sweep working directories, back up the Terraform state.
(Queued runs are re-sent and lost ones taken back by the job framework's housekeeping.)"""

from __future__ import annotations

import logging

from django.utils import timezone

from idp.conf import setting

log = logging.getLogger(__name__)


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
