"""Celery tasks of the provisioning engine: run Terraform, and the beat housekeeping.
(Runs are a job kind of idp/jobs: its one housekeeping task re-sends and reaps them.)"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import DatabaseError

from idp.conf import setting

log = logging.getLogger(__name__)

# A run's own limit is enforced by the runner; these are the worker's last resort.
RUN_TIME_LIMIT = setting("IDP_RUN_TIME_LIMIT")


@shared_task(
    name="provisioning.execute_run",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=RUN_TIME_LIMIT + 120,
    soft_time_limit=RUN_TIME_LIMIT + 60,
    ignore_result=True,
)
def execute_run(run_id: int) -> str:
    """Execute one queued run (the `provisioning.run` job kind's task); a duplicate or late
    message for a run not `queued` does nothing."""
    from .engine.runner import RunTask

    try:
        return RunTask(run_id, follow=True).run()
    except DatabaseError as exc:
        # Before the run was taken, or after it ended: a `queued` run is re-sent by the
        # sweeper, a `running` one is ended by the reaper. (A drop mid-run is the runner's.)
        log.warning("run %s: database unavailable: %s", run_id, exc)
        return "failed"


@shared_task(
    name="provisioning.detect_drift", ignore_result=True, time_limit=300, soft_time_limit=290
)
def detect_drift() -> int:
    """Queue a refresh-only plan on every provisioned resource."""
    from . import actions

    return len(actions.detect_drift())


@shared_task(
    name="provisioning.expire_resources", ignore_result=True, time_limit=300, soft_time_limit=290
)
def expire_resources() -> int:
    """Plan the destruction of resources whose expiry has passed."""
    from . import actions

    return len(actions.expire_resources())


@shared_task(
    name="provisioning.expire_pending_plans",
    ignore_result=True,
    time_limit=300,
    soft_time_limit=290,
)
def expire_pending_plans() -> int:
    """Discard proposed changes whose plan waited for approval past the approval time limit."""
    from . import actions

    return actions.expire_pending_plans()


@shared_task(
    name="provisioning.forget_old_plans",
    ignore_result=True,
    time_limit=600,
    soft_time_limit=590,
)
def forget_old_plans() -> int:
    """Drop the JSON of plans past IDP_PLAN_RETENTION_DAYS (not of waiting plans)."""
    from .actions.scheduled import forget_old_plans as forget

    return forget()


@shared_task(
    name="provisioning.push_pending_states",
    ignore_result=True,
    time_limit=300,
    soft_time_limit=290,
)
def push_pending_states() -> dict[str, int]:
    """Push states an apply could not store, once their wait is over (doubling waits)."""
    from .engine.pending_state import push_due

    return push_due()


@shared_task(
    name="provisioning.sweep_workdirs", ignore_result=True, time_limit=300, soft_time_limit=290
)
def sweep_workdirs() -> dict[str, int]:
    """Remove working directories of runs no longer active, and plan dirs never applied."""
    from .engine.housekeeping import sweep_workdirs as sweep

    return sweep()


@shared_task(
    name="provisioning.backup_states", ignore_result=True, time_limit=1800, soft_time_limit=1740
)
def backup_states() -> dict[str, object]:
    """Copy every Terraform state to a new backup generation; keep the newest N."""
    from .engine.housekeeping import back_up_states

    return back_up_states()
