"""Readiness checks of the parts the platform depends on, each answering ok or an error.

`/readyz` is polled by load balancers and must answer fast: the checks run side by side,
each bounded by IDP_READINESS_TIMEOUT (workers are not pinged: their heartbeat rows are
read, see `heartbeats`), and a process reuses its answer for
IDP_READINESS_CACHE_SECONDS, so a burst of probes costs one round of checks.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.db import connection
from django.utils import timezone

from idp.conf import setting

logger = logging.getLogger(__name__)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""
    required: bool = True

    def as_dict(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"status": "ok" if self.ok else "error", "required": self.required}
        if self.detail:
            answer["detail"] = self.detail
        return answer


def _celery_app() -> Any:
    # The project's Celery app (made by the wiring, which no app imports), as Celery's current.
    from celery import current_app

    return current_app


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def check_broker() -> str:
    timeout = setting("IDP_READINESS_TIMEOUT")
    # A fresh connection each time (not the pool: a pooled one could hide a broker that
    # just went away), with all of Celery's broker settings.
    conn = _celery_app().connection_for_write(settings.CELERY_BROKER_URL, connect_timeout=timeout)
    try:
        # One retry at once: kombu's default pause before it (2 s) is what made probes slow.
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
        return str(conn.transport.driver_type)
    finally:
        conn.release()


def check_workers() -> str:
    """A worker's heartbeat within the window (one query; no round trip over the broker)."""
    from .heartbeats import live_workers, stale_after

    alive = live_workers()
    if not alive:
        raise RuntimeError(f"no worker heartbeat in the last {stale_after():g} s")
    age = (timezone.now() - max(alive.values())).total_seconds()
    return f"{len(alive)} worker(s), last heartbeat {max(age, 0):.0f} s ago"


_s3_clients: dict[tuple[Any, ...], Any] = {}
_s3_lock = threading.Lock()


def _s3_client(endpoint: str | None, region: str, timeout: float) -> Any:
    """One S3 client per process and configuration: making one costs ~200 ms of CPU
    (botocore loads its models per session), more than the check itself."""
    key = (endpoint, region, timeout)
    with _s3_lock:
        if key not in _s3_clients:
            import boto3
            from botocore.config import Config

            _s3_clients[key] = boto3.session.Session().client(
                "s3",
                endpoint_url=endpoint,
                region_name=region,
                config=Config(
                    connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1}
                ),
            )
        return _s3_clients[key]


def check_state_bucket() -> str:
    s3 = _s3_client(
        settings.AWS_ENDPOINT_URL, settings.AWS_REGION, setting("IDP_READINESS_TIMEOUT")
    )
    s3.head_bucket(Bucket=setting("IDP_STATE_BUCKET"))
    return setting("IDP_STATE_BUCKET")


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "broker": check_broker,
    "workers": check_workers,
    "state_bucket": check_state_bucket,
}


def _error_text(exc: Exception) -> str:
    # One line, no URLs with credentials: the class and the first line of the message.
    message = str(exc).splitlines()[0] if str(exc) else ""
    return f"{exc.__class__.__name__}: {message}"[:300]


# Checks that use Django's database connection run in the caller's thread (connections are
# per thread; one made in a short-lived thread would never be closed).
IN_CALLER = {"database", "workers"}
_lock = threading.Lock()
_cached: tuple[float, list[Check]] | None = None
# At most one thread per check: one that hangs past its timeout (a DNS lookup, say) is
# reported as such until it ends, instead of piling up threads.
_pending: dict[str, tuple[float, Future[Check]]] = {}
_pending_lock = threading.Lock()


def _outcome(name: str, check: Callable[[], str], required: bool) -> Check:
    try:
        return Check(name, True, check(), required)
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        logger.warning("readiness check %s failed: %s", name, _error_text(exc))
        return Check(name, False, _error_text(exc), required)


def _start(name: str, check: Callable[[], str], required: bool) -> Future[Check]:
    """Run a check in a thread of its own (daemon: a hung one never delays an exit), in a
    copy of the caller's context so that what it logs carries the request id."""
    future: Future[Check] = Future()
    context = contextvars.copy_context()

    def run() -> None:
        future.set_result(context.run(_outcome, name, check, required))

    threading.Thread(target=run, name=f"readyz-{name}", daemon=True).start()
    return future


def run_checks(names: list[str] | None = None) -> list[Check]:
    """Run every check (or the named ones) now, side by side, each within the timeout;
    which are required comes from the settings."""
    required = set(settings.IDP_READINESS_REQUIRED)
    names = names or list(CHECKS)
    timeout = setting("IDP_READINESS_TIMEOUT")
    done: dict[str, Check] = {}
    futures: dict[str, Future[Check]] = {}
    with _pending_lock:
        for name in names:
            if name in IN_CALLER:
                continue
            started, previous = _pending.get(name, (0.0, None))
            if previous is not None and not previous.done():
                waited = time.monotonic() - started
                detail = f"the previous check has not answered in {waited:.0f} s"
                done[name] = Check(name, False, detail, name in required)
                continue
            futures[name] = _start(name, CHECKS[name], name in required)
            _pending[name] = (time.monotonic(), futures[name])
    for name in names:
        if name in IN_CALLER:
            done[name] = _outcome(name, CHECKS[name], name in required)
    deadline = time.monotonic() + timeout + 0.5  # each check bounds itself; this is the net
    for name, future in futures.items():
        try:
            done[name] = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            logger.warning("readiness check %s did not answer within %s s", name, timeout)
            done[name] = Check(name, False, f"no answer within {timeout:g} s", name in required)
    return [done[name] for name in names]


def readiness() -> list[Check]:
    """The checks `/readyz` reports: this process's last answer while it is fresh
    (IDP_READINESS_CACHE_SECONDS), else a new round; concurrent callers share one round."""
    global _cached
    with _lock:
        ttl = setting("IDP_READINESS_CACHE_SECONDS")
        if _cached is not None and time.monotonic() - _cached[0] < ttl:
            return _cached[1]
        results = run_checks()
        _cached = (time.monotonic(), results)
        return results


def forget(**kwargs: Any) -> None:
    """Drop the kept answer (the next `/readyz` checks again, without waiting for checks
    still running); called on any settings change too."""
    global _cached
    with _lock:
        _cached = None
    with _pending_lock:
        _pending.clear()


setting_changed.connect(forget, dispatch_uid="idp-readiness-forget")
