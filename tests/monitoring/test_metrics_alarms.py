"""Metrics put into CloudWatch (moto over HTTP), collected, stored and shown; alarms follow
the resource's lifecycle through the post_save signal."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from monitoring.models import AlarmState, Collection, MetricSample
from monitoring.services import metrics
from provisioning import lifecycle
from provisioning.choices import ResourceEvent, ResourceStatus


def cloudwatch(url: str) -> Any:
    return boto3.client("cloudwatch", region_name="eu-west-1", endpoint_url=url)


def put(url: str, namespace: str, metric: str, dims: dict[str, str], values: list[float]) -> None:
    now = timezone.now()
    cloudwatch(url).put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                "Timestamp": now - timedelta(minutes=10 * i),
                "Value": value,
            }
            for i, value in enumerate(values)
        ],
    )


def test_metrics_put_then_collected_and_shown(
    aws: str, teams: dict, make_resource: Any, alice: Any, carol: Any, client_as: Any
) -> None:
    queue = make_resource(
        teams["payments"],
        "sqs-queue",
        "orders",
        outputs={"queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/payments-orders"},
    )
    bucket = make_resource(
        teams["payments"], "s3-bucket", "assets", outputs={"bucket_name": "payments-assets"}
    )
    fn = make_resource(
        teams["search"], "lambda-function", "indexer", outputs={"function_name": "search-indexer"}
    )
    make_resource(teams["search"], "s3-bucket", "gone", status="destroyed")
    put(
        aws,
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        {"QueueName": "payments-orders"},
        [3, 7, 11],
    )
    put(
        aws,
        "AWS/S3",
        "NumberOfObjects",
        {"BucketName": "payments-assets", "StorageType": "AllStorageTypes"},
        [42],
    )
    put(aws, "AWS/Lambda", "Invocations", {"FunctionName": "search-indexer"}, [5, 6])
    put(aws, "AWS/Lambda", "Invocations", {"FunctionName": "someone-else"}, [999])

    call_command("collect_metrics", "--hours", "2")

    collection = Collection.objects.filter(kind="metrics").latest("started_at")
    assert collection.status == "succeeded", collection.errors
    depth = MetricSample.objects.filter(resource=queue, metric="ApproximateNumberOfMessagesVisible")
    assert sorted(s.value for s in depth) == [3, 7, 11]
    assert MetricSample.objects.get(resource=bucket, metric="NumberOfObjects").value == 42
    assert sorted(s.value for s in MetricSample.objects.filter(resource=fn)) == [5, 6]
    # Collecting again upserts: no duplicates.
    metrics.collect_metrics(hours=2)
    assert depth.count() == 3

    # Shown: on the metrics API, scoped to the team.
    body = client_as(alice).get(reverse("monitoring:resource_panel", args=[queue.pk]))
    assert body.status_code == 200
    assert b"ApproximateNumberOfMessagesVisible" in body.content and b"11" in body.content
    assert (
        client_as(carol).get(reverse("monitoring:resource_panel", args=[queue.pk])).status_code
        == 404
    )


def test_alarms_created_on_provision_and_deleted_on_destroy(
    aws: str, teams: dict, make_resource: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        resource = make_resource(
            teams["payments"],
            "sqs-queue",
            "jobs",
            status="applying",
            outputs={"queue_name": "payments-jobs"},
        )
    assert not AlarmState.objects.exists()
    # The lifecycle tells monitoring (its registered listener) when a resource moves.
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.transition(resource, ResourceStatus.PROVISIONED, ResourceEvent.APPLIED)
    state = AlarmState.objects.get(resource=resource)
    assert state.alarm_name == "idp-payments-dev-jobs-ApproximateNumberOfMessagesVisible"
    alarms = cloudwatch(aws).describe_alarms(AlarmNames=[state.alarm_name])["MetricAlarms"]
    assert len(alarms) == 1 and alarms[0]["Threshold"] == 100
    assert alarms[0]["Dimensions"] == [{"Name": "QueueName", "Value": "payments-jobs"}]

    # The alarm's state is refreshed from CloudWatch by the collection.
    cloudwatch(aws).set_alarm_state(
        AlarmName=state.alarm_name, StateValue="ALARM", StateReason="queue backing up"
    )
    call_command("collect_metrics", "--hours", "1")
    state.refresh_from_db()
    assert state.state == "ALARM"

    # Saving without a status change does nothing; destroying removes the alarms.
    with django_capture_on_commit_callbacks(execute=True):
        resource.save()
    assert len(cloudwatch(aws).describe_alarms(AlarmNames=[state.alarm_name])["MetricAlarms"]) == 1
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.transition(resource, ResourceStatus.DESTROYING, ResourceEvent.DESTROY_REQUESTED)
        lifecycle.transition(resource, ResourceStatus.DESTROYED, ResourceEvent.DESTROYED)
    assert cloudwatch(aws).describe_alarms(AlarmNames=[state.alarm_name])["MetricAlarms"] == []
    state.refresh_from_db()
    assert state.deleted and state.state == "DELETED"


def test_failed_metric_batch_is_recorded_and_other_data_kept(
    teams: dict, make_resource: Any, settings: Any
) -> None:
    from tests.utils import free_port

    queue = make_resource(teams["payments"], "sqs-queue", "q", outputs={"queue_name": "q"})
    MetricSample.objects.create(
        resource=queue,
        resource_type="sqs",
        metric="ApproximateNumberOfMessagesVisible",
        timestamp=timezone.now(),
        value=1,
    )
    settings.AWS_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    settings.IDP_AWS_RETRY_WAIT_MAX = 0.05
    collection = metrics.collect_metrics(hours=1)
    assert collection.status == "failed" and collection.errors
    assert MetricSample.objects.filter(resource=queue).count() == 1


def test_resource_type_and_dimension_from_outputs(teams: dict, make_resource: Any) -> None:
    rds = make_resource(
        teams["payments"],
        "rds-postgres",
        "db",
        outputs={"db_instance_identifier": {"value": "payments-db"}},
    )
    assert metrics.resource_type(rds) == "rds"
    assert metrics.dimension_value(rds, "rds") == "payments-db"
    fn = make_resource(
        teams["payments"],
        "lambda-function",
        "fn",
        outputs={"function_name": "arn:aws:lambda:eu-west-1:1:function:pay-fn"},
    )
    assert metrics.dimension_value(fn, "lambda") == "pay-fn"
