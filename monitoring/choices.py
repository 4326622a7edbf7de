"""Named states and kinds of monitoring data."""

from django.db import models


class ResourceType(models.TextChoices):
    """The AWS resource families whose CloudWatch metrics we collect."""

    S3 = "s3", "S3 bucket"
    SQS = "sqs", "SQS queue"
    LAMBDA = "lambda", "Lambda function"
    RDS = "rds", "RDS instance"
    DYNAMODB = "dynamodb", "DynamoDB table"


class ThresholdKind(models.TextChoices):
    ACTUAL = "actual", "Actual spend"
    FORECAST = "forecast", "Forecast spend"


class CollectionKind(models.TextChoices):
    METRICS = "metrics", "Metrics"
    COSTS = "costs", "Costs"
    ALARMS = "alarms", "Alarms"
    BUDGETS = "budgets", "Budgets"


class CollectionStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIAL = "partial", "Partial"
    FAILED = "failed", "Failed"


DEFAULT_THRESHOLDS: list[dict[str, object]] = [
    {"percent": 80, "kind": ThresholdKind.ACTUAL.value},
    {"percent": 100, "kind": ThresholdKind.ACTUAL.value},
    {"percent": 100, "kind": ThresholdKind.FORECAST.value},
]
PERIOD_DAYS = (7, 30, 90)
