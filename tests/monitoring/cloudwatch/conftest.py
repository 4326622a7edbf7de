"""CloudWatch fixtures: runs with a stored (redacted) log, and boto3 clients on the moto
server the platform talks to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from provisioning.choices import RunKind, RunStatus
from provisioning.engine.logwriter import LogWriter
from provisioning.engine.redact import Redactor

REGION = "eu-west-1"


def aws_client(url: str, service: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=url)  # type: ignore[call-overload]


@pytest.fixture
def run_with_log() -> Callable[..., Any]:
    """A run of the resource whose log was written by the engine's own log writer (so it is
    redacted the way every run's log is), ended with `status`."""

    def make(
        resource: Any,
        lines: list[str],
        *,
        secrets: tuple[str, ...] = (),
        status: str = RunStatus.SUCCEEDED,
        kind: str = RunKind.PLAN,
    ) -> Any:
        from provisioning import lifecycle
        from provisioning.models import Run

        run = Run.objects.create(
            resource=resource, kind=kind, template_version=resource.template_version
        )
        assert lifecycle.start_run(run, worker="test-worker")
        writer = LogWriter(run.pk, Redactor(secrets), max_lines=2)
        for line in lines:
            writer.write(line)
        writer.flush()
        assert lifecycle.end_run(run, RunStatus(status), error="failed in the test")
        run.refresh_from_db()
        return run

    return make
