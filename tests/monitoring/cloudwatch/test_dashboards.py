"""A CloudWatch dashboard per service and environment, put by a worker as the service's
resources are provisioned and destroyed (through the lifecycle), with widgets generated from
the templates' alarm hints and key metrics."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from catalog.models import Service
from monitoring.models import ServiceDashboard
from provisioning import lifecycle
from provisioning.choices import ResourceEvent, ResourceStatus
from tests.helpers import wait_for

from .conftest import aws_client

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def dashboard(url: str, name: str) -> dict[str, Any]:
    answer = aws_client(url, "cloudwatch").get_dashboard(DashboardName=name)
    return json.loads(answer["DashboardBody"])


def synced(service: Service, resources: int) -> Callable[[], ServiceDashboard | None]:
    return lambda: ServiceDashboard.objects.filter(
        service=service, resources=resources, synced_at__isnull=False
    ).first()


def test_a_service_with_two_resources_gets_a_dashboard_that_follows_them(
    aws: str, celery_worker: Any, teams: dict, make_resource: Any
) -> None:
    service = Service.objects.create(team=teams["payments"], name="Checkout", slug="checkout")
    queue = make_resource(
        teams["payments"],
        "sqs-queue",
        "orders",
        service=service,
        status=ResourceStatus.APPLYING,
        outputs={"queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/payments-orders"},
    )
    bucket = make_resource(
        teams["payments"],
        "s3-bucket",
        "assets",
        service=service,
        status=ResourceStatus.APPLYING,
        outputs={"bucket_name": "payments-assets"},
    )
    lifecycle.transition(queue, ResourceStatus.PROVISIONED, ResourceEvent.APPLIED)
    wait_for(synced(service, 1))
    lifecycle.transition(bucket, ResourceStatus.PROVISIONED, ResourceEvent.APPLIED)
    row = wait_for(synced(service, 2))

    assert row.name == "idp-payments-checkout-dev" and not row.error
    widgets = dashboard(aws, row.name)["widgets"]
    titles = [w["properties"].get("title") for w in widgets if w["type"] == "metric"]
    assert titles == [
        "assets: BucketSizeBytes",
        "assets: NumberOfObjects",
        "orders: ApproximateNumberOfMessagesVisible",
        "orders: ApproximateAgeOfOldestMessage",
    ]
    queue_widget = next(w for w in widgets if w["properties"].get("title", "").startswith("orders"))
    assert queue_widget["properties"]["metrics"] == [
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "payments-orders"]
    ]
    # The template's alarm hint draws its threshold.
    assert queue_widget["properties"]["annotations"]["horizontal"][0]["value"] == 100
    assert row.widgets == 4

    # One resource goes: the dashboard keeps the other; the last one goes: it is deleted.
    lifecycle.transition(queue, ResourceStatus.DESTROYING, ResourceEvent.DESTROY_REQUESTED)
    lifecycle.transition(queue, ResourceStatus.DESTROYED, ResourceEvent.DESTROYED)
    wait_for(synced(service, 1))
    titles = [w["properties"].get("title") for w in dashboard(aws, row.name)["widgets"]]
    assert not any(str(t).startswith("orders") for t in titles)

    lifecycle.transition(bucket, ResourceStatus.DESTROYING, ResourceEvent.DESTROY_REQUESTED)
    lifecycle.transition(bucket, ResourceStatus.DESTROYED, ResourceEvent.DESTROYED)
    row = wait_for(lambda: ServiceDashboard.objects.filter(service=service, deleted=True).first())
    names = aws_client(aws, "cloudwatch").list_dashboards()["DashboardEntries"]
    assert row.name not in [d["DashboardName"] for d in names]
