"""Retry a database step that hit SQLite's "database is locked" (the embedded default).

PostgreSQL never raises this; with SQLite a worker and the portal share one file, and
a step that lost the race simply runs again. Only whole steps outside any transaction
are retried, so a half-done transaction is never continued.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import OperationalError, connection

P = ParamSpec("P")
T = TypeVar("T")


def retry_locked(fn: Callable[P, T]) -> Callable[P, T]:
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        for attempt in range(80):
            try:
                return fn(*args, **kwargs)
            except OperationalError as exc:
                if "locked" not in str(exc) or connection.in_atomic_block:
                    raise
                time.sleep(min(0.02 * (attempt + 1), 0.25))
        return fn(*args, **kwargs)

    return wrapper
