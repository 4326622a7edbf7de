"""Resource metrics: which CloudWatch metrics each resource type has, and their collection."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from idp.conf import setting
from provisioning.choices import ResourceStatus

from ..choices import CollectionKind, ResourceType
from ..models import Collection, MetricSample
from . import aws
from .cache import bump

if TYPE_CHECKING:
    from provisioning.models import Resource

logger = logging.getLogger(__name__)

# CloudWatch accepts at most 500 queries in one get_metric_data call.
MAX_QUERIES = 500


@dataclass(frozen=True)
class MetricSpec:
    metric: str
    statistic: str
    namespace: str
    unit: str = ""
    extra_dimensions: tuple[tuple[str, str], ...] = ()


# The dimension naming a resource of each type, and the outputs that may hold its value.
DIMENSIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    ResourceType.S3: ("BucketName", ("bucket_name", "bucket", "bucket_id", "name")),
    ResourceType.SQS: ("QueueName", ("queue_name", "queue_url", "name")),
    ResourceType.LAMBDA: ("FunctionName", ("function_name", "lambda_name", "name")),
    ResourceType.RDS: (
        "DBInstanceIdentifier",
        ("db_instance_identifier", "db_identifier", "identifier", "instance_id", "name"),
    ),
    ResourceType.DYNAMODB: ("TableName", ("table_name", "table", "name")),
}

METRIC_SETS: dict[str, list[MetricSpec]] = {
    ResourceType.S3: [
        MetricSpec(
            "BucketSizeBytes", "Average", "AWS/S3", "Bytes", (("StorageType", "StandardStorage"),)
        ),
        MetricSpec(
            "NumberOfObjects", "Average", "AWS/S3", "Count", (("StorageType", "AllStorageTypes"),)
        ),
    ],
    ResourceType.SQS: [
        MetricSpec("ApproximateNumberOfMessagesVisible", "Average", "AWS/SQS", "Count"),
        MetricSpec("ApproximateAgeOfOldestMessage", "Maximum", "AWS/SQS", "Seconds"),
    ],
    ResourceType.LAMBDA: [
        MetricSpec("Invocations", "Sum", "AWS/Lambda", "Count"),
        MetricSpec("Errors", "Sum", "AWS/Lambda", "Count"),
        MetricSpec("Duration", "Average", "AWS/Lambda", "Milliseconds"),
        # Lambda Insights: how much of the configured memory is really used.
        MetricSpec("used_memory_max", "Maximum", "LambdaInsights", "Megabytes"),
    ],
    ResourceType.RDS: [
        MetricSpec("CPUUtilization", "Average", "AWS/RDS", "Percent"),
        MetricSpec("DatabaseConnections", "Average", "AWS/RDS", "Count"),
        MetricSpec("FreeStorageSpace", "Minimum", "AWS/RDS", "Bytes"),
    ],
    ResourceType.DYNAMODB: [
        MetricSpec("ConsumedReadCapacityUnits", "Sum", "AWS/DynamoDB", "Count"),
        MetricSpec("ConsumedWriteCapacityUnits", "Sum", "AWS/DynamoDB", "Count"),
        MetricSpec("ThrottledRequests", "Sum", "AWS/DynamoDB", "Count"),
    ],
}

# Words in a template's slug or category that tell its resource type.
_TYPE_WORDS: list[tuple[str, tuple[str, ...]]] = [
    (ResourceType.DYNAMODB, ("dynamodb", "dynamo")),
    (ResourceType.SQS, ("sqs", "queue")),
    (ResourceType.LAMBDA, ("lambda", "function")),
    (ResourceType.RDS, ("rds", "postgres", "mysql", "database", "aurora")),
    (ResourceType.S3, ("s3", "bucket")),
]


def resource_type(resource: Resource) -> str | None:
    """The resource type: template.yaml `monitoring.resource_type`, else the template's name."""
    version = resource.template_version
    meta = (getattr(version, "metadata", None) or {}).get("monitoring") or {}
    declared = meta.get("resource_type") if isinstance(meta, dict) else None
    if declared in ResourceType.values:
        return str(declared)
    words = f"{resource.template.slug} {resource.template.category}".lower()
    for rtype, keys in _TYPE_WORDS:
        if any(k in words for k in keys):
            return str(rtype)
    return None


def dimension_value(resource: Resource, rtype: str) -> str:
    """The CloudWatch dimension value of the resource, from its outputs (else its name)."""
    _, keys = DIMENSIONS[rtype]
    outputs = resource.outputs or {}
    for key in keys:
        value = outputs.get(key)
        if isinstance(value, dict):
            value = value.get("value")
        if value:
            text = str(value)
            # A queue URL ends with the queue name; an ARN ends with the function name.
            if key == "queue_url" or text.startswith(("http://", "https://")):
                return text.rstrip("/").rsplit("/", 1)[-1]
            if text.startswith("arn:"):
                return text.rsplit(":", 1)[-1]
            return text
    return str(resource.name)


def dimensions(
    resource: Resource, rtype: str, spec: MetricSpec | None = None
) -> list[dict[str, str]]:
    name, _ = DIMENSIONS[rtype]
    value = dimension_value(resource, rtype)
    if spec is not None and spec.namespace == "LambdaInsights":
        return [{"Name": "function_name", "Value": value}]
    dims = [{"Name": name, "Value": value}]
    for dim_name, dim_value in spec.extra_dimensions if spec else ():
        dims.append({"Name": dim_name, "Value": dim_value})
    return dims


def provisioned_resources() -> Any:
    from provisioning.models import Resource

    return Resource.objects.filter(status=ResourceStatus.PROVISIONED).select_related(
        "team", "template", "template_version", "environment"
    )


def _fetch(client: Any, queries: list[dict[str, Any]], start: datetime, end: datetime) -> dict:
    """All datapoints of the queries, following NextToken; id -> (timestamps, values)."""
    results: dict[str, tuple[list[datetime], list[float]]] = defaultdict(lambda: ([], []))
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {
            "MetricDataQueries": queries,
            "StartTime": start,
            "EndTime": end,
            "ScanBy": "TimestampAscending",
        }
        if token:
            kwargs["NextToken"] = token
        page = aws.call(client.get_metric_data, **kwargs)
        for item in page.get("MetricDataResults", []):
            stamps, values = results[item["Id"]]
            stamps.extend(item.get("Timestamps", []))
            values.extend(item.get("Values", []))
        token = page.get("NextToken")
        if not token:
            return results


def collect_metrics(*, hours: int | None = None, now: datetime | None = None) -> Collection:
    """Read CloudWatch for every provisioned resource, in batches, and store the samples:
    one pass, a job (monitoring/services/collections.py).

    A failed batch is retried with backoff, then recorded in the Collection's errors; the
    samples of the other batches are kept.
    """
    from .collections import run

    return run(CollectionKind.METRICS, lambda row: collect_metrics_into(row, hours=hours, now=now))


def collect_metrics_into(
    collection: Collection, *, hours: int | None = None, now: datetime | None = None
) -> None:
    """The pass itself, into a claimed Collection row."""
    hours = hours or setting("IDP_METRICS_LOOKBACK_HOURS")
    period = setting("IDP_METRICS_PERIOD_SECONDS")
    # Up to the next whole minute, so a datapoint of this very second is inside the window.
    end = (now or timezone.now()).replace(second=0, microsecond=0) + timedelta(minutes=1)
    start = end - timedelta(hours=hours)
    by_env: dict[int, list[tuple[Any, str]]] = defaultdict(list)
    for resource in provisioned_resources():
        rtype = resource_type(resource)
        if rtype:
            by_env[resource.environment_id].append((resource, rtype))
    touched_teams: set[str] = set()
    with aws.counting_retries() as retried:  # every retried call of the pass
        for items in by_env.values():
            environment = items[0][0].environment
            queries: list[tuple[dict[str, Any], Any, str, MetricSpec]] = []
            for resource, rtype in items:
                for spec in METRIC_SETS[rtype]:
                    query = {
                        "Id": f"m{len(queries)}",
                        "MetricStat": {
                            "Metric": {
                                "Namespace": spec.namespace,
                                "MetricName": spec.metric,
                                "Dimensions": dimensions(resource, rtype, spec),
                            },
                            "Period": period,
                            "Stat": spec.statistic,
                        },
                        "ReturnData": True,
                    }
                    queries.append((query, resource, rtype, spec))
            try:
                client = aws.client("cloudwatch", environment)
            except Exception as exc:  # noqa: BLE001 - recorded, other environments go on
                collection.errors.append(
                    {"environment": environment.slug, "error": aws.error_text(exc)}
                )
                continue
            for offset in range(0, len(queries), MAX_QUERIES):
                batch = queries[offset : offset + MAX_QUERIES]
                try:
                    data = _fetch(client, [q for q, *_ in batch], start, end)
                except Exception as exc:  # noqa: BLE001 - recorded; earlier batches are kept
                    logger.warning("get_metric_data failed in %s: %s", environment.slug, exc)
                    collection.errors.append(
                        {"environment": environment.slug, "error": aws.error_text(exc)}
                    )
                    continue
                collection.stored += _store(batch, data)
                touched_teams.update(r.team.slug for _, r, _, _ in batch)
    collection.retries = len(retried)
    if touched_teams:
        bump(*touched_teams)


def _store(batch: list[tuple[dict, Any, str, MetricSpec]], data: dict) -> int:
    rows = []
    for query, resource, rtype, spec in batch:
        stamps, values = data.get(query["Id"], ([], []))
        for stamp, value in zip(stamps, values, strict=False):
            rows.append(
                MetricSample(
                    resource=resource,
                    resource_type=rtype,
                    metric=spec.metric,
                    statistic=spec.statistic,
                    timestamp=stamp,
                    value=float(value),
                    unit=spec.unit,
                )
            )
    with transaction.atomic():
        MetricSample.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["resource", "metric", "statistic", "timestamp"],
            update_fields=["value"],
        )
    return len(rows)


def series(resource: Resource, metric: str, since: datetime | None = None) -> list[MetricSample]:
    qs = MetricSample.objects.filter(resource=resource, metric=metric)
    if since:
        qs = qs.filter(timestamp__gte=since)
    return list(qs.order_by("timestamp"))
