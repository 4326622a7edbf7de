"""Monitoring data: metric samples, cost records, budgets, alerts, alarm states."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse

from idp.jobs.models import JobRow
from idp.models import Team
from idp.rbac import TeamOwnedQuerySet

from .choices import (
    DEFAULT_THRESHOLDS,
    ChannelKind,
    CollectionKind,
    CollectionStatus,
    ResourceType,
    ThresholdKind,
)


def default_thresholds() -> list[dict[str, object]]:
    return [dict(t) for t in DEFAULT_THRESHOLDS]


class MetricSample(models.Model):
    """One CloudWatch datapoint of one metric of one resource."""

    resource = models.ForeignKey(
        "provisioning.Resource", on_delete=models.CASCADE, related_name="metric_samples"
    )
    resource_type = models.CharField(max_length=20, choices=ResourceType.choices)
    metric = models.CharField(max_length=100)
    statistic = models.CharField(max_length=20, default="Average")
    timestamp = models.DateTimeField(db_index=True)
    value = models.FloatField()
    unit = models.CharField(max_length=30, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamOwnedQuerySet.as_manager()
    team_field = "resource__team"

    class Meta:
        ordering = ["resource", "metric", "timestamp"]
        constraints = [
            models.UniqueConstraint(
                fields=["resource", "metric", "statistic", "timestamp"],
                name="unique_metric_sample",
            )
        ]
        indexes = [models.Index(fields=["resource", "metric", "-timestamp"])]

    def __str__(self) -> str:
        return f"{self.resource_id} {self.metric}={self.value} @ {self.timestamp:%Y-%m-%d %H:%M}"


class CostRecord(models.Model):
    """One day's cost of a team's (service, environment) slice, from Cost Explorer."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="cost_records")
    service_slug = models.CharField(max_length=63, blank=True, db_index=True)
    environment_slug = models.CharField(max_length=63, blank=True, db_index=True)
    date = models.DateField(db_index=True)
    amount = models.DecimalField(max_digits=14, decimal_places=6)
    currency = models.CharField(max_length=3, default="USD")
    estimated = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TeamOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["team", "date"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "service_slug", "environment_slug", "date"],
                name="unique_cost_record",
            )
        ]
        indexes = [models.Index(fields=["team", "date"])]

    def __str__(self) -> str:
        return f"{self.team_id} {self.date} {self.amount} {self.currency}"


class Budget(models.Model):
    """A team's monthly spending limit with alert thresholds, mirrored to AWS Budgets."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="budget")
    monthly_amount = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(max_length=3, default="USD")
    thresholds = models.JSONField(
        default=default_thresholds, help_text='[{"percent": 80, "kind": "actual"}, …]'
    )
    aws_budget_name = models.CharField(max_length=100, blank=True)
    aws_synced_at = models.DateTimeField(null=True, blank=True)
    aws_sync_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TeamOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["team__slug"]

    def __str__(self) -> str:
        return f"{self.team} {self.monthly_amount} {self.currency}/month"

    def get_absolute_url(self) -> str:
        return reverse("monitoring:team_dashboard", args=[self.team.slug])


class Alert(models.Model):
    """A crossed budget threshold: raised at most once per threshold, kind and month."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="alerts")
    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="alerts")
    threshold = models.PositiveIntegerField(help_text="Percent of the monthly budget")
    kind = models.CharField(max_length=10, choices=ThresholdKind.choices)
    period = models.CharField(max_length=7, help_text="YYYY-MM")
    amount = models.DecimalField(max_digits=14, decimal_places=2, help_text="Spend that crossed")
    budget_amount = models.DecimalField(max_digits=12, decimal_places=2)
    message = models.TextField()
    emailed_to = models.JSONField(default=list, blank=True)
    webhook_status = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = TeamOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["budget", "threshold", "kind", "period"], name="unique_budget_alert"
            )
        ]

    def __str__(self) -> str:
        return f"{self.team} {self.kind} {self.threshold}% {self.period}"


class AlarmState(models.Model):
    """A CloudWatch alarm created for a resource and its last known state."""

    resource = models.ForeignKey(
        "provisioning.Resource", on_delete=models.CASCADE, related_name="alarm_states"
    )
    alarm_name = models.CharField(max_length=255, unique=True)
    metric = models.CharField(max_length=100)
    namespace = models.CharField(max_length=100)
    threshold = models.FloatField()
    comparison = models.CharField(max_length=50)
    state = models.CharField(max_length=20, default="INSUFFICIENT_DATA")
    state_reason = models.TextField(blank=True)
    deleted = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TeamOwnedQuerySet.as_manager()
    team_field = "resource__team"

    class Meta:
        ordering = ["resource", "alarm_name"]

    def __str__(self) -> str:
        return f"{self.alarm_name}: {self.state}"


class Collection(JobRow):
    """One collection pass (metrics, costs, alarms, budgets) and what went wrong in it.

    Metrics and costs passes are jobs (idp/jobs): claimed with a heartbeat, and failed by
    the reaper ("worker lost") when their worker dies; `partial` is their own end."""

    kind = models.CharField(max_length=10, choices=CollectionKind.choices, db_index=True)
    status = models.CharField(
        max_length=10,
        choices=CollectionStatus.choices,
        default=CollectionStatus.RUNNING,
        db_index=True,
    )
    stored = models.PositiveIntegerField(default=0)
    retries = models.PositiveIntegerField(default=0, help_text="AWS calls retried after a failure")
    errors = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.status} ({self.stored} stored)"

    def finish(self) -> str:
        """Store what the pass found; returns its end (succeeded, partial: errors but
        something stored, or failed), which the job writes as its status."""
        self.save(update_fields=["stored", "retries", "errors"])
        if not self.errors:
            return CollectionStatus.SUCCEEDED
        return CollectionStatus.PARTIAL if self.stored else CollectionStatus.FAILED


class AlertChannel(models.Model):
    """One of a team's alert endpoints (an e-mail address or a Slack-compatible HTTPS URL),
    subscribed to the team's SNS topic in every environment."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="alert_channels")
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    endpoint = models.CharField(max_length=500, help_text="E-mail address or HTTPS URL")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["team__slug", "kind", "endpoint"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "kind", "endpoint"], name="unique_alert_channel"
            )
        ]

    def __str__(self) -> str:
        # An HTTPS endpoint may carry a token in its path: show the host only.
        shown = self.endpoint if self.kind == ChannelKind.EMAIL else self.endpoint[:30] + "…"
        return f"{self.team} {self.kind} {shown}"


class TeamTopic(models.Model):
    """The SNS topic the platform created for a team in an environment's account; every alarm
    of the team's resources there notifies it."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="sns_topics")
    environment = models.ForeignKey(
        "idp.Environment", on_delete=models.CASCADE, related_name="sns_topics"
    )
    topic_arn = models.CharField(max_length=300, unique=True)
    subscriptions = models.JSONField(
        default=dict, blank=True, help_text="endpoint → subscription ARN (or 'pending')"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TeamOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["team__slug", "environment__order"]
        constraints = [
            models.UniqueConstraint(fields=["team", "environment"], name="unique_team_topic")
        ]

    def __str__(self) -> str:
        return self.topic_arn


class AlarmEvent(models.Model):
    """An alarm's change of state as SNS delivered it: the alerts page's history."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="alarm_events")
    alarm = models.ForeignKey(
        AlarmState, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    resource = models.ForeignKey(
        "provisioning.Resource",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alarm_events",
    )
    alarm_name = models.CharField(max_length=255, db_index=True)
    old_state = models.CharField(max_length=20, blank=True)
    new_state = models.CharField(max_length=20)
    reason = models.TextField(blank=True)
    occurred_at = models.DateTimeField(db_index=True)
    message_id = models.CharField(max_length=100, unique=True, help_text="SNS MessageId")
    topic_arn = models.CharField(max_length=300, blank=True)
    emailed_to = models.PositiveIntegerField(default=0)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = TeamOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["team", "-occurred_at"])]

    def __str__(self) -> str:
        return f"{self.alarm_name}: {self.old_state} → {self.new_state}"

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None


class LogShipment(models.Model):
    """How far a run's log has been copied to CloudWatch Logs (a row per run, the sweeper's
    bookmark): chunks from `next_seq` on are still to ship."""

    run = models.OneToOneField(
        "provisioning.Run", on_delete=models.CASCADE, related_name="log_shipment"
    )
    log_group = models.CharField(max_length=512)
    log_stream = models.CharField(max_length=512)
    next_seq = models.PositiveIntegerField(default=0)
    events = models.PositiveIntegerField(default=0)
    complete = models.BooleanField(default=False, db_index=True)
    error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TeamOwnedQuerySet.as_manager()
    team_field = "run__resource__team"

    class Meta:
        ordering = ["-run_id"]

    def __str__(self) -> str:
        return f"{self.log_group}/{self.log_stream} ({self.events} events)"


class ServiceDashboard(models.Model):
    """The CloudWatch dashboard of a service's resources in one environment's account."""

    service = models.ForeignKey(
        "catalog.Service", on_delete=models.CASCADE, related_name="cloudwatch_dashboards"
    )
    environment = models.ForeignKey(
        "idp.Environment", on_delete=models.CASCADE, related_name="cloudwatch_dashboards"
    )
    name = models.CharField(max_length=255, unique=True)
    widgets = models.PositiveIntegerField(default=0)
    resources = models.PositiveIntegerField(default=0)
    deleted = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    objects = TeamOwnedQuerySet.as_manager()
    team_field = "service__team"

    class Meta:
        ordering = ["service", "environment"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "environment"], name="unique_service_dashboard"
            )
        ]

    def __str__(self) -> str:
        return self.name


class PriceCatalog(models.Model):
    """One version of the price catalog of a region: list prices per resource type and
    attribute, with where they came from and when (shipped file or the AWS Price List)."""

    region = models.CharField(max_length=32, db_index=True)
    currency = models.CharField(max_length=3, default="USD")
    source = models.CharField(max_length=200, help_text="Where the prices came from")
    source_date = models.DateField(help_text="The date the prices are valid from")
    assumptions = models.JSONField(
        default=dict, blank=True, help_text="Monthly usage assumed for usage-priced types"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["region", "-source_date", "-pk"]
        get_latest_by = ["source_date", "pk"]

    def __str__(self) -> str:
        return f"{self.region} prices of {self.source_date} ({self.source})"


class Price(models.Model):
    """One list price: a resource type's component (instance hour, GB-month, …) for one
    variant (an instance class, a storage type; empty when it has none)."""

    catalog = models.ForeignKey(PriceCatalog, on_delete=models.CASCADE, related_name="prices")
    resource_type = models.CharField(max_length=100)
    component = models.CharField(max_length=50)
    variant = models.CharField(max_length=100, blank=True)
    usd = models.DecimalField(max_digits=14, decimal_places=8)
    unit = models.CharField(max_length=50, blank=True)
    refreshed = models.BooleanField(
        default=False, help_text="Read from the AWS Price List in this version"
    )

    class Meta:
        ordering = ["catalog", "resource_type", "component", "variant"]
        constraints = [
            models.UniqueConstraint(
                fields=["catalog", "resource_type", "component", "variant"],
                name="unique_price",
            )
        ]

    def __str__(self) -> str:
        variant = f" {self.variant}" if self.variant else ""
        return f"{self.resource_type} {self.component}{variant}: {self.usd} per {self.unit}"


class CostAccuracy(models.Model):
    """A resource's estimate against its Cost Explorer actual for one complete month."""

    resource = models.ForeignKey(
        "provisioning.Resource", on_delete=models.CASCADE, related_name="cost_accuracy"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    template_slug = models.CharField(max_length=100, db_index=True)
    environment_slug = models.CharField(max_length=63)
    month = models.DateField(help_text="The first day of the month")
    estimated = models.DecimalField(max_digits=14, decimal_places=2)
    actual = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    updated_at = models.DateTimeField(auto_now=True)

    objects = TeamOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-month", "template_slug", "resource"]
        verbose_name_plural = "cost accuracy"
        constraints = [
            models.UniqueConstraint(fields=["resource", "month"], name="unique_cost_accuracy")
        ]

    def __str__(self) -> str:
        return f"{self.resource_id} {self.month:%Y-%m}: {self.estimated} vs {self.actual}"

    @property
    def error(self) -> Decimal | None:
        """(estimate − actual) / actual; None when nothing was spent."""
        if not self.actual:
            return None
        return (self.estimated - self.actual) / self.actual
