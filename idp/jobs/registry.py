"""Job kinds: what the housekeeping task sweeps, reaps and schedules. Each app registers
its kinds when Django starts (its AppConfig.ready), so the kernel imports no app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from idp.conf import setting

from .retry import RetryPolicy


@dataclass(frozen=True)
class JobKind:
    """One kind of background job.

    `task`: the dotted path of its Celery task, which takes the row's pk (a kind without a
    `model` is driven by id: its task takes the id its `schedule` works on).
    `again`: for kinds with a row per run (a docs build): make the run that follows a
    request recorded while one ran; without it the same row is queued again.
    `on_lost(row_id, requeued, reason)`: tell the domain its worker was lost.
    `schedule()`: periodic work of the kind (queue what is due), run by housekeeping.

    A kind whose statuses have a writer of their own (provisioning's lifecycle) gives it
    through two hooks, and never calls `request`/`finish`, which write the status directly:
    `claim(pk, worker)`: take the queued job (its own compare-and-set, and whatever else may
    hold it back, such as a lock a job shares with others); the row, or None.
    `reap(pk, cutoff)`: take back a running job whose heartbeat is older than `cutoff` (it
    re-checks that under its own row locks, then decides: queued again or failed); True when
    it took it back.
    `queue(pk)`: the Celery queue its message goes to (None: the default queue).
    `timeout` and `grace` may be callables, read when used (a setting changed at run time).
    """

    name: str
    task: str
    model: Any = None  # a JobRow model
    label: str = ""
    timeout: int | Callable[[], int] | None = None  # no heartbeat this long: lost
    grace: int | Callable[[], int] | None = None  # queued this long: re-sent
    max_attempts: int = 3  # claims before a job whose worker keeps dying is failed
    retry: RetryPolicy | None = None
    again: Callable[[Any], None] | None = None
    on_lost: Callable[[int, bool, str], None] | None = None
    schedule: Callable[[], int] | None = None
    queue: Callable[[int], str | None] | None = None
    claim: Callable[[int, str], Any] | None = None
    reap: Callable[[int, datetime], bool] | None = None

    @property
    def noun(self) -> str:
        return self.label or self.name

    def heartbeat_timeout(self) -> int:
        """Seconds without a heartbeat before its worker counts as lost."""
        return _seconds(self.timeout, "IDP_JOB_HEARTBEAT_TIMEOUT")

    def sweep_grace(self) -> int:
        """Seconds a job stays queued before the sweeper sends it again."""
        return _seconds(self.grace, "IDP_JOB_SWEEP_GRACE_SECONDS")


def _seconds(value: int | Callable[[], int] | None, default: str) -> int:
    if value is None:
        return int(setting(default))
    return value() if callable(value) else value


_KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    """Add (or replace, on a reload) a kind; returns it so modules can keep a name for it."""
    _KINDS[kind.name] = kind
    return kind


def kinds() -> list[JobKind]:
    return list(_KINDS.values())


def get(name: str) -> JobKind:
    return _KINDS[name]
