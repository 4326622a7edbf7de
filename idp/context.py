"""Per-request (or per-task) context: who acts, from where, under which request or run id.

Set by the middleware for web requests and by Celery tasks for runs, read by the
audit log and the log formatter, so neither needs a request object.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextvars import ContextVar, Token
from typing import Any

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
client_ip_var: ContextVar[str | None] = ContextVar("client_ip", default=None)
run_id_var: ContextVar[str] = ContextVar("run_id", default="-")


def new_request_id() -> str:
    return uuid.uuid4().hex


@contextlib.contextmanager
def bound(**values: str | None) -> Iterator[None]:
    context_vars: dict[str, ContextVar[Any]] = {
        "request_id": request_id_var,
        "client_ip": client_ip_var,
        "run_id": run_id_var,
    }
    tokens: list[tuple[ContextVar[Any], Token[Any]]] = []
    for name, value in values.items():
        var = context_vars[name]
        tokens.append((var, var.set(value)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
