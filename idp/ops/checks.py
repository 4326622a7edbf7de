"""Readiness checks of the parts the platform depends on, each answering ok or an error."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection

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
    from idp.celery import app

    return app


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
        conn.ensure_connection(max_retries=1, timeout=timeout)
        return str(conn.transport.driver_type)
    finally:
        conn.release()


def worker_names(timeout: float | None = None) -> list[str]:
    """Workers answering a ping within `timeout` seconds (an empty list when none do)."""
    app = _celery_app()
    replies = app.control.inspect(timeout=timeout or setting("IDP_READINESS_TIMEOUT")).ping()
    return sorted(replies or {})


def check_workers() -> str:
    names = worker_names()
    if not names:
        raise RuntimeError("no worker answered the ping")
    return f"{len(names)} worker(s)"


def check_state_bucket() -> str:
    import boto3
    from botocore.config import Config

    timeout = setting("IDP_READINESS_TIMEOUT")
    s3 = boto3.client(
        "s3",
        endpoint_url=settings.AWS_ENDPOINT_URL,
        region_name=settings.AWS_REGION,
        config=Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1}),
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


def run_checks(names: list[str] | None = None) -> list[Check]:
    """Run every check (or the named ones); which are required comes from the settings."""
    required = set(settings.IDP_READINESS_REQUIRED)
    results = []
    for name in names or list(CHECKS):
        try:
            detail = CHECKS[name]()
            results.append(Check(name, True, detail, name in required))
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
            logger.warning("readiness check %s failed: %s", name, _error_text(exc))
            results.append(Check(name, False, _error_text(exc), name in required))
    return results
