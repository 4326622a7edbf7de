"""The Celery app: tasks are discovered in every installed app's tasks.py."""

import os

from celery import Celery
from celery.signals import worker_ready

from idp import runenv

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
# `celery -A config …` started by hand talks to a running `make run` (see idp/runenv.py).
runenv.load()

app = Celery("idp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Every worker writes a heartbeat row that /readyz and the platform status read (no ping).
app.steps["consumer"].add("idp.ops.heartbeats:HeartbeatStep")


@worker_ready.connect
def _sweep_leftover_run_dirs(**kwargs: object) -> None:
    """A worker starting on a host sweeps the working directories of runs no longer active
    there (a killed worker's, with their variables files); the beat schedule repeats it."""
    import logging

    from django.db import connections

    try:
        from provisioning.engine.housekeeping import sweep_workdirs

        sweep_workdirs()
    except Exception:  # noqa: BLE001 - a sweep must never keep a worker from starting
        logging.getLogger(__name__).warning("working directory sweep failed", exc_info=True)
    finally:
        # No connection of the parent survives into pool children (one inside a transaction
        # is its owner's to close: a test's, never a worker's).
        for connection in connections.all(initialized_only=True):
            if not connection.in_atomic_block:
                connection.close()
