"""The test database emptied between transactional tests by DELETE instead of TRUNCATE.

A test that commits its data (a live server, a real worker, `transactional_db`) ends with
Django's `flush`, which on PostgreSQL is one TRUNCATE of every table: about a second each
time (new files for 68 tables), a minute or two of every `make test`. The tables hold a few
rows by then, and deleting them takes milliseconds, with the foreign-key triggers held off
for that transaction only (`session_replication_role`, which needs a superuser: without one
the TRUNCATE stays). Sequences are left as TRUNCATE leaves them; a flush that asks for them
to be reset (`reset_sequences`) keeps Django's own SQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db.backends.postgresql.operations import DatabaseOperations

_truncate = DatabaseOperations.sql_flush


def _sql_flush(
    self: DatabaseOperations,
    style: Any,
    tables: list[str],
    *,
    reset_sequences: bool = False,
    allow_cascade: bool = False,
) -> list[str]:
    if not tables or reset_sequences or not _superuser(self.connection):
        return _truncate(
            self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
    # SET LOCAL: flush runs its statements in one transaction, and the setting ends with it.
    deletes = [f"{style.SQL_KEYWORD('DELETE FROM')} {self.quote_name(t)}" for t in tables]
    return ["SET LOCAL session_replication_role = replica", *deletes]


def _superuser(connection: Any) -> bool:
    known = connection.__dict__.get("_idp_tests_superuser")
    if known is None:
        with connection.cursor() as cursor:
            cursor.execute("SHOW is_superuser")
            known = cursor.fetchone()[0] == "on"
        connection.__dict__["_idp_tests_superuser"] = known
    return bool(known)


@pytest.hookimpl
def pytest_configure(config: pytest.Config) -> None:
    DatabaseOperations.sql_flush = _sql_flush  # type: ignore[method-assign]
