"""Done-when: a real Terraform run's log (a provider-free fixture module, state on the local
AWS API) appears in the local AWS API's CloudWatch Logs, line for line as the platform
stored it."""

# ruff: noqa: F811 - the engine fixtures are imported by name, then asked for by name
from __future__ import annotations

from typing import Any

import pytest

from monitoring import tasks
from monitoring.models import LogShipment
from provisioning.choices import RunStatus
from tests.provisioning.engine.conftest import (  # noqa: F401 - fixtures
    echo,
    envs,
    log_of,
    request_module,
    run_queued,
    state,
)

from .conftest import aws_client

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.mark.django_db
def test_a_terraform_runs_log_appears_in_cloudwatch_logs(
    alice: Any, teams: dict, envs: Any, echo: Any, state: str, settings: Any
) -> None:
    settings.IDP_CLOUDWATCH_RUN_LOGS = True
    resource = request_module(alice, teams["payments"], name="cfg", message="hello")
    runs = run_queued(resource)
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED, RunStatus.SUCCEEDED]

    shipped = tasks.ship_run_logs()
    assert shipped["runs"] == 2

    logs = aws_client(state, "logs")
    for run in runs:
        shipment = LogShipment.objects.get(run=run)
        assert shipment.log_group == "/idp/runs/dev/payments" and shipment.complete
        events = logs.get_log_events(
            logGroupName=shipment.log_group,
            logStreamName=shipment.log_stream,
            startFromHead=True,
        )["events"]
        stored = [line for line in log_of(run).splitlines() if line.strip()]
        assert [e["message"] for e in events] == stored
        assert len(stored) > 2
