"""Shared test helpers: strict skips, JSON assertions, free ports."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


class _WebhookHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        self.server.received.append(json.loads(self.rfile.read(length)))  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        return


@contextlib.contextmanager
def webhook_receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A Slack-compatible webhook receiver on loopback: (its URL, the JSON bodies it got)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _WebhookHandler)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", server.received  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
