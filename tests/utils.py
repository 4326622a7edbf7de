"""Shared test helpers: strict skips, JSON assertions, free ports."""

from __future__ import annotations

import os
import socket
from typing import Any

import pytest

STRICT = os.environ.get("IDP_TEST_STRICT") == "1"


def need(condition: Any, reason: str) -> None:
    """Skip when a part this machine may lack is missing; under IDP_TEST_STRICT=1, fail."""
    if condition:
        return
    if STRICT:
        pytest.fail(f"required for this run (IDP_TEST_STRICT=1): {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), 1).close()
        return True
    except OSError:
        return False


def assert_ok(response: Any, status: int = 200) -> Any:
    body = getattr(response, "content", b"")[:2000]
    assert response.status_code == status, (
        f"expected {status}, got {response.status_code}: {body!r}"
    )
    return response.json() if status != 204 else None


def assert_error(response: Any, status: int, field: str | None = None) -> Any:
    """An API error: the status, a JSON {"detail": …} body, and the field when given."""
    assert response.status_code == status, (
        f"expected {status}, got {response.status_code}: {response.content[:2000]!r}"
    )
    body = response.json()
    assert "detail" in body, body
    if field is not None:
        assert isinstance(body["detail"], dict) and field in body["detail"], body
    return body
