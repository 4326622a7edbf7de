"""Workers' heartbeats: each Celery worker writes its row every IDP_WORKER_HEARTBEAT_SECONDS,
and `/readyz` and the platform status read the rows (one query) instead of pinging the
workers over the broker (a round trip that waited out its timeout on the filesystem broker).

A worker counts as alive while its last heartbeat is younger than
IDP_WORKER_HEARTBEAT_STALE_SECONDS (30 s by default): within that window after the last
worker died, readiness fails. A worker that stops cleanly removes its row at once.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from celery import bootsteps
from django.db import connection
from django.utils import timezone

from idp.conf import setting
from idp.models import WorkerHeartbeat

logger = logging.getLogger(__name__)
KEPT_FOR = timedelta(days=1)


def beat(hostname: str, now: datetime | None = None) -> None:
    """Record that the worker `hostname` is alive now (one statement: insert or update)."""
    WorkerHeartbeat.objects.bulk_create(
        [WorkerHeartbeat(hostname=hostname, beat_at=now or timezone.now())],
        update_conflicts=True,
        unique_fields=["hostname"],
        update_fields=["beat_at"],
    )


def forget(hostname: str) -> None:
    """The worker stopped: it no longer counts, without waiting out the window."""
    WorkerHeartbeat.objects.filter(hostname=hostname).delete()


def prune(now: datetime | None = None) -> int:
    """Remove the rows of workers gone for a day (killed ones leave theirs: pods come and
    go); a worker does it as it starts. Returns how many went."""
    cutoff = (now or timezone.now()) - KEPT_FOR
    return int(WorkerHeartbeat.objects.filter(beat_at__lt=cutoff).delete()[0])


def stale_after() -> float:
    return float(setting("IDP_WORKER_HEARTBEAT_STALE_SECONDS"))


def live_workers(now: datetime | None = None) -> dict[str, datetime]:
    """Workers whose last heartbeat is within the window: hostname → when (one query)."""
    cutoff = (now or timezone.now()) - timedelta(seconds=stale_after())
    rows = WorkerHeartbeat.objects.filter(beat_at__gte=cutoff).values_list("hostname", "beat_at")
    return dict(rows)


class Beater:
    """A daemon thread in the worker's main process that writes its heartbeat."""

    def __init__(self, hostname: str) -> None:
        self.hostname = hostname
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="idp-worker-heartbeat", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Stop beating and remove the row (in the thread: its database connection)."""
        self.stopped.set()
        self.thread.join(timeout=5)

    def _run(self) -> None:
        self._write(lambda _hostname: prune())
        while not self.stopped.is_set():
            self._write(beat)
            self.stopped.wait(float(setting("IDP_WORKER_HEARTBEAT_SECONDS")))
        self._write(forget)

    def _write(self, what: Any) -> None:
        try:
            what(self.hostname)
        except Exception as exc:  # noqa: BLE001 - a missed beat shows as "no heartbeat"
            # DEBUG: readiness reports the missing heartbeat and its database check the
            # database; a line per beat would only repeat that.
            logger.debug("worker heartbeat not written: %s: %s", type(exc).__name__, exc)
        finally:
            # No connection kept open between beats (this thread's own).
            connection.close()


class HeartbeatStep(bootsteps.StartStopStep):
    """The consumer bootstep that runs a worker's Beater (added by the Celery app)."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.beater: Beater | None = None

    def start(self, parent: Any) -> None:
        if self.beater is None:
            self.beater = Beater(parent.hostname)
            self.beater.start()

    def stop(self, parent: Any) -> None:
        # The consumer also stops to reconnect to the broker: the worker is still alive.
        pass

    def shutdown(self, parent: Any) -> None:
        if self.beater is not None:
            self.beater.stop()
            self.beater = None
