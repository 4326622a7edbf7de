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
    ACCURACY = "accuracy", "Cost accuracy"


class ChannelKind(models.TextChoices):
    """Where a team's alarm notifications go (each is an SNS subscription of its topic)."""

    EMAIL = "email", "E-mail"
    SLACK = "slack", "Slack-compatible HTTPS webhook"


class CollectionStatus(models.TextChoices):
    """A collection's job statuses (idp.jobs.JobStatus values) and its own `partial`."""

    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIAL = "partial", "Partial"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


DEFAULT_THRESHOLDS: list[dict[str, object]] = [
    {"percent": 80, "kind": ThresholdKind.ACTUAL.value},
    {"percent": 100, "kind": ThresholdKind.ACTUAL.value},
    {"percent": 100, "kind": ThresholdKind.FORECAST.value},
]
PERIOD_DAYS = (7, 30, 90)


class AuditAction(models.TextChoices):
    """What this app records in the audit log (values are the stored action names)."""

    BUDGET_ALERT_RAISED = "budget.alert_raised", "Budget alert raised"
    BUDGET_CREATED = "budget.created", "Budget created"
    BUDGET_DELETED = "budget.deleted", "Budget deleted"
    BUDGET_UPDATED = "budget.updated", "Budget updated"
    MONITORING_ALARMS_CREATED = "monitoring.alarms_created", "Monitoring alarms created"
    MONITORING_ALARMS_DELETED = "monitoring.alarms_deleted", "Monitoring alarms deleted"
    MONITORING_COSTS_COLLECTED = "monitoring.costs_collected", "Monitoring costs collected"
    MONITORING_ACCURACY_COLLECTED = (
        "monitoring.accuracy_collected",
        "Estimates checked against actuals",
    )
    MONITORING_PRICES_REFRESHED = "monitoring.prices_refreshed", "Price catalog refreshed"
    MONITORING_TOPIC_CREATED = "monitoring.topic_created", "Team SNS topic created"
    MONITORING_ALARM_CHANGED = "monitoring.alarm_changed", "Alarm changed state"
    MONITORING_ALARM_ACKNOWLEDGED = "monitoring.alarm_acknowledged", "Alarm acknowledged"
    MONITORING_CHANNEL_ADDED = "monitoring.channel_added", "Alert channel added"
    MONITORING_CHANNEL_REMOVED = "monitoring.channel_removed", "Alert channel removed"
