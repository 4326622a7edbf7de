"""Retry a run's bookkeeping step (heartbeat, log flush, result) across a database hiccup.

Two hiccups are worth a retry instead of failing an apply that Terraform is still doing
well: SQLite's "database is locked" (the embedded default: a worker and the portal share
one file, and a step that lost the race simply runs again), and a dropped connection
(a PostgreSQL restart or failover, a killed backend): the connection is closed, a new one
is opened on the next query, and the step runs again for up to IDP_DB_RETRY_SECONDS.
Only whole steps outside any transaction are retried, so a half-done transaction is never
continued; past the limit the error reaches the caller (the runner then ends the run as
"database connection lost").
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import DatabaseError, InterfaceError, OperationalError, connection
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_delay,
    wait_exponential,
)

from idp.conf import setting

P = ParamSpec("P")
T = TypeVar("T")

log = logging.getLogger(__name__)


def _locked(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and "locked" in str(exc)


def _retryable(exc: BaseException) -> bool:
    """A lost connection or a lock wait, outside a transaction: the whole step may run again."""
    if connection.in_atomic_block:
        return False
    return isinstance(exc, OperationalError | InterfaceError)


def _reconnect(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    if exc is not None and not _locked(exc):
        log.warning("database unavailable (%s); retrying", str(exc).strip().splitlines()[:1])
        with contextlib.suppress(DatabaseError):
            connection.close()  # the next query opens a new connection


def retry_locked(fn: Callable[P, T]) -> Callable[P, T]:
    """Run `fn` again on "database is locked" or a lost connection (see the module doc)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        # A lock wait is short and frequent: its own quick loop, as before.
        for attempt in range(80):
            try:
                return _with_reconnects(fn, *args, **kwargs)
            except OperationalError as exc:
                if not _locked(exc) or connection.in_atomic_block:
                    raise
                time.sleep(min(0.02 * (attempt + 1), 0.25))
        return fn(*args, **kwargs)

    return wrapper


retry_db = retry_locked


def _with_reconnects(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    seconds = float(setting("IDP_DB_RETRY_SECONDS"))
    if seconds <= 0:
        return fn(*args, **kwargs)
    retrying = Retrying(
        retry=retry_if_exception(lambda exc: _retryable(exc) and not _locked(exc)),
        stop=stop_after_delay(seconds),
        wait=wait_exponential(multiplier=0.2, max=3.0),
        before_sleep=_reconnect,
        reraise=True,
    )
    return retrying(fn, *args, **kwargs)
