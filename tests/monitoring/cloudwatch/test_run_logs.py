"""Run logs shipped to CloudWatch Logs on the local AWS API: a log group per environment and
team with its retention, a stream per run, secrets already masked; read back through the API,
the CLI and the resource page."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from monitoring import tasks
from monitoring.models import LogShipment
from provisioning.choices import RunStatus
from provisioning.engine.redact import MASK

from .conftest import aws_client

SECRET = "hunter2-super-secret"
LINES = [
    "Terraform will perform the following actions:",
    f"  + password = {SECRET}",
    "Plan: 1 to add, 0 to change, 0 to destroy.",
]


@pytest.fixture
def shipping(settings: Any) -> None:
    settings.IDP_CLOUDWATCH_RUN_LOGS = True
    settings.IDP_CLOUDWATCH_LOG_RETENTION_DAYS = 10  # rounded up to CloudWatch's 14


def stream_messages(url: str, shipment: LogShipment) -> list[str]:
    page = aws_client(url, "logs").get_log_events(
        logGroupName=shipment.log_group, logStreamName=shipment.log_stream, startFromHead=True
    )
    return [e["message"] for e in page["events"]]


@pytest.mark.integration
def test_a_runs_log_appears_in_cloudwatch_logs_redacted_once(
    aws: str, shipping: None, teams: dict, make_resource: Any, run_with_log: Any
) -> None:
    resource = make_resource(teams["payments"], "sqs-queue", "orders")
    run = run_with_log(resource, LINES, secrets=(SECRET,))

    assert tasks.ship_run_logs() == {"runs": 1, "events": 3}

    shipment = LogShipment.objects.get(run=run)
    assert shipment.log_group == "/idp/runs/dev/payments"
    assert shipment.log_stream == f"orders/run-{run.pk}-plan"
    assert shipment.complete and shipment.events == 3 and not shipment.error
    messages = stream_messages(aws, shipment)
    assert messages[0] == LINES[0] and messages[2] == LINES[2]
    assert SECRET not in "".join(messages) and "password = " in messages[1]
    groups = aws_client(aws, "logs").describe_log_groups(logGroupNamePrefix="/idp/runs/")
    assert [(g["logGroupName"], g.get("retentionInDays")) for g in groups["logGroups"]] == [
        ("/idp/runs/dev/payments", 14)
    ]
    # The sweeper again: nothing is sent twice.
    assert tasks.ship_run_logs() == {"runs": 0, "events": 0}
    assert len(stream_messages(aws, shipment)) == 3


@pytest.mark.integration
def test_off_by_default_and_a_failed_put_is_retried_from_its_bookmark(
    aws: str, settings: Any, teams: dict, make_resource: Any, run_with_log: Any
) -> None:
    resource = make_resource(teams["search"], "s3-bucket", "assets")
    run = run_with_log(resource, LINES[:1], status=RunStatus.FAILED)
    assert tasks.ship_run_logs() == {"runs": 0, "events": 0}
    assert not LogShipment.objects.exists()

    settings.IDP_CLOUDWATCH_RUN_LOGS = True
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"  # nothing listens: the put fails
    settings.IDP_AWS_RETRY_ATTEMPTS = 1
    assert tasks.ship_run_logs() == {"runs": 1, "events": 0}
    shipment = LogShipment.objects.get(run=run)
    assert shipment.error and not shipment.complete and shipment.next_seq == 0

    settings.AWS_ENDPOINT_URL = aws
    assert tasks.ship_run_logs() == {"runs": 1, "events": 1}
    shipment.refresh_from_db()
    assert shipment.complete and not shipment.error
    assert stream_messages(aws, shipment) == LINES[:1]


@pytest.mark.integration
def test_api_and_resource_page_show_the_stream_to_the_team_only(
    aws: str,
    shipping: None,
    teams: dict,
    make_resource: Any,
    run_with_log: Any,
    alice: Any,
    carol: Any,
    api_as: Any,
    client_as: Any,
) -> None:
    resource = make_resource(teams["payments"], "sqs-queue", "orders")
    run = run_with_log(resource, LINES, secrets=(SECRET,))
    tasks.ship_run_logs()
    url = f"/api/v1/resources/{resource.pk}/cloudwatch-logs/"

    body = api_as(alice).get(url).json()
    assert [e["message"] for e in body] == [LINES[0], f"  + password = {MASK}", LINES[2]]
    assert {e["run"] for e in body} == {run.pk}
    assert api_as(carol).get(url).status_code == 404
    bad = api_as(alice).get(url, {"limit": "lots"})
    assert bad.status_code == 400
    assert bad.json() == {"detail": {"limit": ["Give a whole number."]}}

    page = client_as(alice).get(reverse("monitoring:resource_panel", args=[resource.pk]))
    html = page.content.decode()
    assert "Run logs in CloudWatch" in html
    assert "log-group/$252Fidp$252Fruns$252Fdev$252Fpayments/log-events/orders$252Frun-" in html
