"""Job kinds: what the housekeeping task sweeps, reaps and schedules. Each app registers
its kinds when Django starts (its AppConfig.ready), so the kernel imports no app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
    """

    name: str
    task: str
    model: Any = None  # a JobRow model
    label: str = ""
    timeout: int | None = None  # seconds without heartbeat; None = IDP_JOB_HEARTBEAT_TIMEOUT
    max_attempts: int = 3  # claims before a job whose worker keeps dying is failed
    retry: RetryPolicy | None = None
    again: Callable[[Any], None] | None = None
    on_lost: Callable[[int, bool, str], None] | None = None
    schedule: Callable[[], int] | None = None

    @property
    def noun(self) -> str:
        return self.label or self.name

    def heartbeat_timeout(self) -> int:
        return self.timeout if self.timeout is not None else setting("IDP_JOB_HEARTBEAT_TIMEOUT")


_KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    """Add (or replace, on a reload) a kind; returns it so modules can keep a name for it."""
    _KINDS[kind.name] = kind
    return kind


def kinds() -> list[JobKind]:
    return list(_KINDS.values())


def get(name: str) -> JobKind:
    return _KINDS[name]
