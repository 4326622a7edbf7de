"""One Celery beat at a time: a scheduler that takes a lock before it opens its schedule.

Two beats send every periodic task twice (two drift detections, two cost collections, two
sweeps racing each other), so a second beat must not run. `SingleBeatScheduler` takes a
lock at start and refuses to start (`BeatLockHeld`: beat exits non-zero, naming the
holder) while another beat has it:

- on PostgreSQL, a session advisory lock on a connection of its own: shared by every host
  of the platform, and released by the server the moment the holder's process or
  connection dies (no expiry to tune, no stale lock after a crash);
- on other databases (SQLite: `make run`, one machine), an exclusive `flock` on
  `<schedule file>.lock`, released by the kernel when the process dies.

It is the settings' `CELERY_BEAT_SCHEDULER`, so every `celery -A config beat` uses it (compose,
Kubernetes, `make run`, by hand) without a `--scheduler` option. A beat whose PostgreSQL
connection is lost while running takes the lock again, or stops if another beat got it
meanwhile.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import time
import zlib
from typing import Any, Protocol

from celery.beat import PersistentScheduler

logger = logging.getLogger(__name__)

# The advisory lock's key: a fixed 32-bit number (any bigint works; this one is stable).
ADVISORY_KEY = zlib.crc32(b"idp-celery-beat")
# How often a running beat checks that its PostgreSQL lock is still there.
RECHECK_SECONDS = 30.0


class BeatLockHeld(RuntimeError):
    """Another beat holds the lock: this one must not run."""


class BeatLock(Protocol):
    def acquire(self) -> bool: ...

    def still_held(self) -> bool: ...

    def release(self) -> None: ...

    def describe(self) -> str: ...


def _me() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()}"


class FileBeatLock:
    """`flock` on a file beside the schedule: one beat per schedule file on this host."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        # Who holds it, for the message a refused beat prints.
        os.ftruncate(fd, 0)
        os.write(fd, f"{_me()} since {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}".encode())
        self._fd = fd
        return True

    def still_held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def describe(self) -> str:
        with contextlib.suppress(OSError), open(self.path) as handle:
            holder = handle.read().strip()
            if holder:
                return f"held by {holder} (lock file {self.path})"
        return f"lock file {self.path}"


class PostgresBeatLock:
    """A session advisory lock on a connection that only this lock uses."""

    def __init__(self, alias: str = "default") -> None:
        self.alias = alias
        self._connection: Any = None

    def _try(self) -> bool:
        from django.db import connections

        if self._connection is None:
            # Not the thread's shared connection: nothing else may close it or reuse it.
            self._connection = connections.create_connection(self.alias)
        with self._connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_KEY])
            return bool(cursor.fetchone()[0])

    def acquire(self) -> bool:
        if self._try():
            return True
        self.release()
        return False

    def still_held(self) -> bool:
        if self._connection is None:
            return False
        try:
            with self._connection.cursor() as cursor:
                cursor.execute(
                    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid::bigint = %s"
                    " AND objsubid = 1 AND pid = pg_backend_pid() AND granted",
                    [ADVISORY_KEY],
                )
                return cursor.fetchone() is not None
        except Exception:  # noqa: BLE001 - a dead connection means the lock is gone
            self.release()
            return False

    def release(self) -> None:
        if self._connection is not None:
            # Closing the session releases its advisory locks.
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None

    def describe(self) -> str:
        from django.db import connections

        settings = connections.settings[self.alias]
        return f"PostgreSQL advisory lock {ADVISORY_KEY} on database {settings.get('NAME')!s}"


def lock_for(schedule_filename: str, alias: str = "default") -> BeatLock:
    """The lock that fits the platform's database."""
    from django.db import connections

    if connections[alias].vendor == "postgresql":
        return PostgresBeatLock(alias)
    return FileBeatLock(f"{schedule_filename}.lock")


class SingleBeatScheduler(PersistentScheduler):
    """Celery's file-backed scheduler behind a lock (see the module docstring)."""

    schedule_filename: str  # set by PersistentScheduler.__init__

    def setup_schedule(self) -> None:
        # Before the schedule file is opened: two beats writing one shelve corrupt it.
        self.beat_lock: BeatLock = lock_for(self.schedule_filename)
        if not self.beat_lock.acquire():
            raise BeatLockHeld(
                f"another celery beat is running ({self.beat_lock.describe()}); "
                "this one refuses to start so that periodic tasks are not sent twice"
            )
        self._lock_checked = time.monotonic()
        logger.info("beat lock taken by %s", _me())
        super().setup_schedule()

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if time.monotonic() - self._lock_checked >= RECHECK_SECONDS:
            self._lock_checked = time.monotonic()
            if not self.beat_lock.still_held() and not self.beat_lock.acquire():
                raise BeatLockHeld(
                    f"the beat lock was lost and another beat has it ({self.beat_lock.describe()})"
                )
        return float(super().tick(*args, **kwargs))

    def close(self) -> None:
        try:
            super().close()
        finally:
            lock = getattr(self, "beat_lock", None)
            if lock is not None:
                lock.release()
