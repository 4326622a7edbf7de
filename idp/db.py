"""Database contention: row locks taken in one shape, and a bounded retry of a whole
transaction that lost a deadlock or a serialization race.

Two concurrent transactions that lock the same rows in different orders deadlock; the
database then aborts one of them. That is no outage: the aborted work is simply run again
from the start. `retry_on_deadlock` does so a bounded number of times, only around a whole
transaction (never inside an outer one, which is already aborted), and raises a 409
`Contention` when the race keeps being lost. `lock` is how every action takes a row lock:
the rows of its own table only, in the weakest mode that still serialises writers.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

from django.db import NotSupportedError, OperationalError, connection
from django.db.models import BooleanField, Expression, F, Model, QuerySet

from .services import Conflict

P = ParamSpec("P")
T = TypeVar("T")
M = TypeVar("M", bound=Model)

log = logging.getLogger(__name__)

# SQLSTATEs of a lost race: deadlock detected, serialization failure, lock not available.
CONTENTION_STATES = frozenset({"40P01", "40001", "55P03"})
ATTEMPTS = 5

CONTENTION_DETAIL = (
    "The request collided with concurrent changes to the same records and was not applied; "
    "try again."
)


class Contention(Conflict):
    """A transaction still lost a race after its retries: nothing was written (409)."""

    def __init__(self, message: str = CONTENTION_DETAIL) -> None:
        super().__init__(message)


def is_contention(exc: BaseException) -> bool:
    """Whether `exc` is a lost race (a deadlock, a serialization failure, a lock timeout,
    SQLite's "database is locked"), not a database that is down."""
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    if state in CONTENTION_STATES:
        return True
    return "database is locked" in str(exc)


def lock(queryset: QuerySet[M]) -> QuerySet[M]:
    """`queryset` with a row lock on its own table's rows only.

    Never the rows of a `select_related` join (a team, environment or template): a request's
    commit checks its foreign keys to those with FOR KEY SHARE, and a worker holding them
    FOR UPDATE while it waits for a resource deadlocks with it. FOR NO KEY UPDATE still
    excludes every other writer of the row but lets new rows refer to it."""
    return queryset.select_for_update(of=("self",), no_key=True)


def retry_on_deadlock(func: Callable[P, T]) -> Callable[P, T]:
    """Run `func` (which opens its own transaction) again when it loses a race, up to
    ATTEMPTS times with a short random pause; then raise `Contention` (409).

    Called inside an outer transaction it runs once: the outer transaction is aborted with
    it, and the retry belongs to whoever opened that one."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        if connection.in_atomic_block:
            return func(*args, **kwargs)
        attempt = 1
        while True:
            try:
                return func(*args, **kwargs)
            except OperationalError as exc:
                if not is_contention(exc):
                    raise
                first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                log.info(
                    "%s lost a race (attempt %d of %d): %s",
                    func.__qualname__,
                    attempt,
                    ATTEMPTS,
                    first_line,
                )
                if attempt >= ATTEMPTS:
                    raise Contention() from exc
                # Jitter, so two retrying transactions do not meet again in step.
                time.sleep(random.uniform(0.01, 0.05) * attempt)
                attempt += 1

    return wrapper


class JSONArrayHas(Expression):
    """A condition: the JSON array in column `field` holds the id `value` (stored as a number,
    or as its string by older rows). PostgreSQL's `@>`; SQLite's `json_each`."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, field: str | Any, value: int) -> None:
        super().__init__()
        self.array = F(field) if isinstance(field, str) else field
        self.value = int(value)

    def get_source_expressions(self) -> list[Any]:
        return [self.array]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        (self.array,) = exprs

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.array)
        if connection.vendor == "postgresql":
            sql = f"({column} @> %s::jsonb OR {column} @> %s::jsonb)"
            as_number, as_text = json.dumps([self.value]), json.dumps([str(self.value)])
            return sql, [*params, as_number, *params, as_text]
        if connection.vendor == "sqlite":
            # `column` is the compiled column reference; the value is a parameter.
            sql = "EXISTS (SELECT 1 FROM json_each(%s) AS jv WHERE CAST(jv.value AS TEXT) = %%s)"
            return sql % column, [*params, str(self.value)]
        raise NotSupportedError(f"JSONArrayHas is not written for {connection.vendor}")
