"""Celery tasks of the provisioning engine: run Terraform, and the beat housekeeping."""

from __future__ import annotations

import contextlib
import logging
import time

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, connection

log = logging.getLogger(__name__)

# A run's own limit is enforced by the runner; these are the worker's last resort.
RUN_TIME_LIMIT = int(getattr(settings, "IDP_RUN_TIME_LIMIT", 3600))


@shared_task(
    name="provisioning.execute_run",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=RUN_TIME_LIMIT + 120,
    soft_time_limit=RUN_TIME_LIMIT + 60,
    ignore_result=True,
)
def execute_run(run_id: int) -> str:
    """Execute one queued run; a duplicate or late message for a run not `queued` does nothing."""
    from .engine.runner import RunTask, worker_name

    me = worker_name()
    try:
        return RunTask(run_id).run()
    except DatabaseError as exc:
        # The database dropped this worker's connection mid-run (restart, failover, a killed
        # backend): end the run readable on a new connection instead of leaving it `running`
        # with its lock held until the reaper calls it "worker lost".
        log.warning("run %s lost its database connection: %s", run_id, exc)
        fail_after_database_loss(run_id, me, exc)
        return "failed"


DATABASE_LOST = "database connection lost during the run"


def fail_after_database_loss(run_id: int, worker: str, exc: Exception, attempts: int = 5) -> None:
    """Fail a run this worker was running after its database connection broke; free its lock.

    A run still `queued` stays so for the sweeper; a run another worker owns is left alone.
    """
    from .choices import RunStatus
    from .engine.runner import RunTask
    from .models import Run

    # Name the drop itself, not the "connection is closed" errors that followed it.
    first: BaseException = exc
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, DatabaseError):
            first = cause
        cause = cause.__context__
    detail = (str(first).strip().splitlines() or [type(first).__name__])[0]
    reason = f"{DATABASE_LOST} ({detail}); retry the run"
    for attempt in range(attempts):
        with contextlib.suppress(DatabaseError):
            connection.close()  # the broken connection; the next query opens a new one
        try:
            run = Run.objects.filter(
                pk=run_id, status=RunStatus.RUNNING, worker=worker[:200]
            ).first()
            if run is not None:
                RunTask(run_id).stop(run, RunStatus.FAILED, reason)
            return
        except DatabaseError:
            time.sleep(min(2.0 * (attempt + 1), 10.0))  # the database may still be coming back
    log.error("run %s could not be ended after losing the database; the reaper will", run_id)


@shared_task(name="provisioning.sweep_queued_runs", ignore_result=True, time_limit=120)
def sweep_queued_runs() -> int:
    """Re-send runs stuck in `queued` (a lost message, a broker outage): the database decides."""
    from .engine.housekeeping import sweep_queued_runs as sweep

    return sweep()


@shared_task(name="provisioning.reap_lost_runs", ignore_result=True, time_limit=120)
def reap_lost_runs() -> int:
    """Mark `running` runs whose heartbeat stopped `failed` ("worker lost") and free their lock."""
    from .engine.housekeeping import reap_lost_runs as reap

    return reap()


@shared_task(name="provisioning.detect_drift", ignore_result=True, time_limit=300)
def detect_drift() -> int:
    """Queue a refresh-only plan on every provisioned resource."""
    from . import services

    return len(services.detect_drift())


@shared_task(name="provisioning.expire_resources", ignore_result=True, time_limit=300)
def expire_resources() -> int:
    """Plan the destruction of resources whose expiry has passed."""
    from . import services

    return len(services.expire_resources())
