"""`idp resources logs ID --source cloudwatch` prints a resource's run log as CloudWatch
Logs holds it, through the API over real HTTP."""

# ruff: noqa: F811 - the CLI fixtures are imported by name, then asked for by name
from __future__ import annotations

from typing import Any

import pytest

from monitoring import tasks
from tests.cli.conftest import cli, token_for  # noqa: F401 - fixtures

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_logs_from_cloudwatch(
    aws: str,
    settings: Any,
    cli: Any,
    token_for: Any,
    teams: dict,
    make_resource: Any,
    run_with_log: Any,
    alice: Any,
    carol: Any,
) -> None:
    settings.IDP_CLOUDWATCH_RUN_LOGS = True
    resource = make_resource(teams["payments"], "sqs-queue", "orders")
    nothing = cli(
        "resources", "logs", str(resource.pk), "--source", "cloudwatch", token=token_for(alice)
    )
    assert nothing.exit_code == 1 and "no run log in CloudWatch Logs yet" in nothing.stderr

    run = run_with_log(resource, ["Terraform planned: 1 to add", "done"])
    tasks.ship_run_logs()

    result = cli(
        "resources", "logs", str(resource.pk), "--source", "cloudwatch", token=token_for(alice)
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"--- run {run.pk}: /idp/runs/dev/payments orders/run-{run.pk}-plan ---",
        "Terraform planned: 1 to add",
        "done",
    ]
    other = cli(
        "resources", "logs", str(resource.pk), "--source", "cloudwatch", token=token_for(carol)
    )
    assert other.exit_code != 0
    bad = cli("resources", "logs", str(resource.pk), "--source", "s3", token=token_for(alice))
    assert bad.exit_code == 2 and "--source" in bad.stderr
