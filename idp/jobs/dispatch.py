"""Requesting, sending, claiming, running and finishing a job.

The row is the truth; the Celery message is a nudge sent once the request's transaction
commits. A broker error is logged and left to the sweeper; a duplicate message finds the
row no longer queued and does nothing. The runner follows one shape for every kind: claim
(compare-and-set to `running`) → private temporary folder → heartbeat while the work runs
→ final status (or a retry, by the kind's policy) → folder removed.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string

from idp.conf import setting

from .models import JOB_ACTIVE, JobStatus
from .registry import JobKind

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 4000
JOB_FIELDS = [
    "status",
    "queued_at",
    "started_at",
    "finished_at",
    "heartbeat_at",
    "worker",
    "attempts",
    "requested_again",
    "workdir",
    "error",
]

# What a request did.
QUEUED = "queued"
ALREADY_QUEUED = "already queued"
REQUESTED_AGAIN = "requested again"


@dataclass(frozen=True)
class Done:
    """How the work of a job ended (its return value for the caller in `result`)."""

    status: str = JobStatus.SUCCEEDED
    error: str = ""
    result: Any = None


Work = Callable[[Any, Path], Done]


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# --- Sending ------------------------------------------------------------------------------


def send(kind: JobKind, pk: int, *, countdown: float | None = None) -> bool:
    """Send the job's Celery message now (to the kind's queue); a broker error is logged and
    the sweeper retries."""
    task = import_string(kind.task)
    options: dict[str, Any] = {}
    if countdown:
        options["countdown"] = countdown
    try:
        queue = kind.queue(pk) if kind.queue is not None else None
        if queue:
            options["queue"] = queue
        task.apply_async((pk,), **options)
    except Exception:  # noqa: BLE001 - any broker error: the row stays queued in the database
        log.warning(
            "could not send %s %s to the broker; the sweeper will", kind.noun, pk, exc_info=True
        )
        return False
    return True


def nudge(kind: JobKind, pk: int) -> None:
    """Send the job's message once the current transaction commits (at once without one)."""
    transaction.on_commit(lambda: send(kind, pk))


# --- Requesting ---------------------------------------------------------------------------


def request(kind: JobKind, row: Any) -> str:
    """Ask for the job of a row that carries one (a template source, a location): queue it,
    or record the request on the running job (it runs once more when that one ends).

    Written to the database by compare-and-set, then read back into `row`: the object in
    memory follows the row, never the other way round."""
    rows = kind.model.objects.filter(pk=row.pk)
    outcome = ""
    for _ in range(5):  # each step is one statement; a row moving between them is tried again
        if rows.filter(status=JobStatus.RUNNING).update(requested_again=True):
            outcome = REQUESTED_AGAIN
            break
        if rows.exclude(status__in=JOB_ACTIVE).update(
            status=JobStatus.QUEUED,
            queued_at=timezone.now(),
            attempts=0,
            requested_again=False,
            error="",
        ):
            nudge(kind, row.pk)
            outcome = QUEUED
            break
        if rows.filter(status=JobStatus.QUEUED).exists():
            outcome = ALREADY_QUEUED
            break
        if not rows.exists():
            raise kind.model.DoesNotExist(f"{kind.noun} {row.pk} is gone")
    row.refresh_from_db(fields=JOB_FIELDS)
    return outcome


def request_new(
    kind: JobKind, active: QuerySet[Any], create: Callable[..., Any]
) -> tuple[Any, str]:
    """Ask for a job of a kind with a row per run (a docs build): the queued one is joined,
    a running one gets the request recorded (a new run follows it), else `create(**fields)`
    makes a queued row. `active` selects the rows of the same subject."""
    with transaction.atomic():
        for current in active.filter(status__in=JOB_ACTIVE).select_for_update().order_by("pk"):
            if current.status == JobStatus.QUEUED:
                return current, ALREADY_QUEUED
            if kind.model.objects.filter(pk=current.pk, status=JobStatus.RUNNING).update(
                requested_again=True
            ):
                current.requested_again = True
                return current, REQUESTED_AGAIN
        row = create(status=JobStatus.QUEUED, queued_at=timezone.now())
        nudge(kind, row.pk)
        return row, QUEUED


# --- Claiming and finishing ----------------------------------------------------------------


def claim(kind: JobKind, pk: int, worker: str | None = None) -> Any | None:
    """Take a queued job (compare-and-set: of two messages only one wins); None when it is
    not queued (a duplicate message, or another worker has it) or the kind's own claim
    holds it back."""
    worker = (worker or worker_name())[:200]
    if kind.claim is not None:
        return kind.claim(pk, worker)
    now = timezone.now()
    claimed = kind.model.objects.filter(pk=pk, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
        finished_at=None,
        worker=worker,
        attempts=F("attempts") + 1,
        workdir="",
    )
    if not claimed:
        return None
    return kind.model.objects.get(pk=pk)


def _mine(kind: JobKind, row: Any) -> QuerySet[Any]:
    """The row while this attempt still holds it (the reaper may have taken it back)."""
    return kind.model.objects.filter(pk=row.pk, status=JobStatus.RUNNING, attempts=row.attempts)


def finish(kind: JobKind, row: Any, status: str, error: str = "") -> bool:
    """End this attempt of the job; a request recorded meanwhile queues the next run. False
    when the attempt no longer holds the row (its worker was taken for lost)."""
    with transaction.atomic():
        current = _mine(kind, row).select_for_update().first()
        if current is None:
            log.warning("%s %s: ended after it was taken back; outcome dropped", kind.noun, row.pk)
            return False
        again = current.requested_again
        fields: dict[str, Any] = {
            "status": status,
            "finished_at": timezone.now(),
            "heartbeat_at": None,
            "error": error[:MAX_ERROR_CHARS],
            "requested_again": False,
            "workdir": "",
        }
        if again and kind.again is None:
            fields.update(status=JobStatus.QUEUED, queued_at=timezone.now(), attempts=0)
        kind.model.objects.filter(pk=row.pk).update(**fields)
        if again:
            if kind.again is None:
                nudge(kind, row.pk)
            else:
                kind.again(kind.model.objects.get(pk=row.pk))
    return True


def requeue(kind: JobKind, row: Any, error: str, delay: float) -> bool:
    """Put this attempt's job back in the queue, due in `delay` seconds (a retry)."""
    due = timezone.now() + timedelta(seconds=delay)
    return bool(
        _mine(kind, row).update(
            status=JobStatus.QUEUED,
            queued_at=due,
            heartbeat_at=None,
            error=error[:MAX_ERROR_CHARS],
            workdir="",
        )
    )


# --- Heartbeat and temporary folders --------------------------------------------------------


class Heartbeat:
    """Beats `heartbeat_at` from a thread while the job works, so a long git clone or build
    (one blocking call) still shows a live worker. Inside a caller's transaction nobody else
    sees the claim, so there is nothing to beat for."""

    def __init__(self, kind: JobKind, row: Any) -> None:
        self.kind, self.row = kind, row
        self.every = max(kind.heartbeat_timeout() / 4, 0.2)
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        if not connection.in_atomic_block:
            self.thread = threading.Thread(
                target=self._beat, name=f"heartbeat-{self.kind.name}-{self.row.pk}", daemon=True
            )
            self.thread.start()
        return self

    def _beat(self) -> None:
        try:
            while not self.stopped.wait(self.every):
                try:
                    if not _mine(self.kind, self.row).update(heartbeat_at=timezone.now()):
                        return  # taken back or ended: nothing left to beat for
                except DatabaseError:
                    log.warning("%s %s: heartbeat failed", self.kind.noun, self.row.pk)
        finally:
            connection.close()  # this thread's own connection

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stopped.set()
        if self.thread is not None:
            self.thread.join(timeout=self.every + 10)


def work_root() -> Path:
    """Where jobs keep temporary folders (IDP_JOB_WORK_DIR, else the system temp folder)."""
    configured = setting("IDP_JOB_WORK_DIR")
    root = Path(configured) if configured else Path(tempfile.gettempdir()) / "idp-jobs"
    root.mkdir(parents=True, exist_ok=True)
    return root


def make_workdir(kind: JobKind, row: Any) -> Path:
    """A new private folder of this attempt, recorded on the row for the reaper."""
    path = Path(tempfile.mkdtemp(prefix=f"{kind.name}-{row.pk}-", dir=work_root()))
    # Searchable, not listable: a sandboxed step reaches only the sub-folder it is given.
    os.chmod(path, 0o711)  # noqa: S103 - search only, see above
    _mine(kind, row).update(workdir=str(path))
    return path


def remove_workdir(path: str) -> bool:
    """Remove a job's temporary folder; only ever a folder directly inside the work root
    (a path read from the database never points the reaper elsewhere)."""
    if not path:
        return False
    target = Path(path)
    if target.resolve().parent != work_root().resolve() or target.is_symlink():
        log.warning("not removing %s: not a job folder", path)
        return False
    shutil.rmtree(target, ignore_errors=True)
    return not target.exists()


# --- Running -------------------------------------------------------------------------------


def execute(kind: JobKind, pk: int, work: Work, *, task: Any = None) -> Done | None:
    """The worker's entry: claim the queued job and run it (None: nothing was queued, or
    the database was out of reach: the row stays queued for the sweeper). A database error
    later on leaves the row running: the reaper takes it back."""
    try:
        row = claim(kind, pk)
    except DatabaseError as exc:
        log.warning("%s %s: database unavailable, the sweeper re-sends: %s", kind.noun, pk, exc)
        return None
    if row is None:
        return None
    return run_claimed(kind, row, work, task=task)


def run_inline(kind: JobKind, row: Any, work: Work) -> Done:
    """Run a job now in this process (a command, an admin action): the same claim, folder,
    heartbeat and final status as on a worker. `row` must be queued."""
    claimed = claim(kind, row.pk)
    if claimed is None:
        raise RuntimeError(f"{kind.noun} {row.pk} is not queued")
    return run_claimed(kind, claimed, work)


def run_claimed(kind: JobKind, row: Any, work: Work, *, task: Any = None) -> Done:
    """Run a claimed job: folder, heartbeat, work, final status, folder removed. An error
    the kind's retry policy calls transient queues it again after a backoff (through
    `task.retry` when a bound Celery task runs it); any other error fails it and is raised
    again, for the worker's log."""
    workdir = make_workdir(kind, row)
    try:
        with Heartbeat(kind, row):
            done = work(row, workdir)
    except Exception as exc:
        policy = kind.retry
        message = _describe(exc)
        if policy is not None and policy.should_retry(exc, row.attempts):
            delay = policy.delay(row.attempts, exc)
            remove_workdir(str(workdir))
            if requeue(
                kind, row, f"{message} (attempt {row.attempts}; retrying in {delay}s)", delay
            ):
                log.info("%s %s: %s; retrying in %ss", kind.noun, row.pk, message, delay)
                if task is not None:
                    raise task.retry(
                        countdown=delay, exc=exc, max_retries=policy.max_attempts
                    ) from exc
                transaction.on_commit(lambda: send(kind, row.pk, countdown=delay))
                return Done(JobStatus.QUEUED, message)
            raise
        finish(kind, row, JobStatus.FAILED, message)
        raise
    finally:
        remove_workdir(str(workdir))
    finish(kind, row, done.status, done.error)
    return done


def _describe(exc: BaseException) -> str:
    text = str(getattr(exc, "message", "") or exc)
    return text if text else type(exc).__name__
