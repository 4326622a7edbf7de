"""A database blip in the middle of an apply: the heartbeat, the log and the final record
retry on a new connection for a few seconds, and the apply completes instead of failing."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import OperationalError, connection

from provisioning.choices import ResourceStatus, RunStatus

from .engine_procs import Stack, drive, log_of

# The recovery database, broker, moto server and processes (the `stack` fixture).
pytest_plugins = ["tests.recovery.engine_procs"]

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(240)]


class Blip:
    """Fails every query for `seconds` from the apply's third heartbeat on, and the write of
    the apply's final status once: what a database restart looks like to the worker."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.heartbeats = 0
        self.down_until = 0.0
        self.failed = 0
        self.final_failed = False

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        now = time.monotonic()
        if now < self.down_until:
            self.failed += 1
            raise OperationalError("server closed the connection unexpectedly (test blip)")
        text = sql.lower()
        if 'update "provisioning_run" set "log_size"' in text:  # a heartbeat
            self.heartbeats += 1
            if self.heartbeats == 3:
                self.down_until = now + self.seconds
        if (
            not self.final_failed
            and 'update "provisioning_run" set' in text
            and any(str(value) == "succeeded" for value in params or ())
        ):
            self.final_failed = True
            self.failed += 1
            raise OperationalError("terminating connection due to administrator command (test)")
        return execute(sql, params, many, context)


def test_an_apply_rides_out_a_database_blip(stack: Stack) -> None:
    stack.settings.IDP_DB_RETRY_SECONDS = 20
    team, user = stack.member()
    resource = stack.request(user, team, "tf_slow", {"delay": 6, "label": "steady"})
    (plan,) = drive(resource, limit=1)
    assert plan.status == RunStatus.SUCCEEDED, plan.error

    blip = Blip(seconds=3)
    with connection.execute_wrapper(blip):
        (apply,) = drive(resource, limit=1)
    assert blip.failed >= 2 and blip.final_failed, vars(blip)
    assert apply.status == RunStatus.SUCCEEDED, apply.error
    assert resource.status == ResourceStatus.PROVISIONED and resource.outputs["label"] == "steady"
    assert "Apply complete" in log_of(apply)
