"""Pipelines: a generated GitHub Actions workflow for a service, its pull request and runs."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse

from catalog.models import Service
from idp.jobs.models import JobRow
from idp.models import Environment
from idp.rbac import TeamOwnedQuerySet
from provisioning.choices import ApprovalDecision

from .choices import (
    RUN_ACTIVE,
    DeliveryState,
    DeploymentStatus,
    PipelineTemplate,
    RunSource,
    RunStatus,
    RuntimeKind,
)


class Pipeline(JobRow):
    """One generated workflow for a service across environments, and the PR that delivers it.

    The row carries its delivery job (idp/jobs): `status` is the job's, `delivery_state`
    where the workflow is on its way into the repository."""

    team_field = "service__team"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="pipelines")
    slug = models.SlugField(max_length=63, help_text="Names the workflow file and the branch")
    template = models.CharField(max_length=20, choices=PipelineTemplate.choices)
    environments = models.JSONField(default=list, help_text="Environment slugs, in deploy order")
    options = models.JSONField(default=dict, blank=True)
    workflow_name = models.CharField(max_length=200)
    workflow_path = models.CharField(max_length=255)
    repository = models.CharField(
        max_length=200, db_index=True, help_text="owner/name parsed from the service repository"
    )
    yaml = models.TextField(blank=True, help_text="The generated workflow")
    findings = models.JSONField(default=list, blank=True, help_text="Check results that block")
    warnings = models.JSONField(default=list, blank=True, help_text="Advice that does not block")
    delivery_state = models.CharField(
        max_length=20, choices=DeliveryState.choices, default=DeliveryState.DRAFT, db_index=True
    )
    branch = models.CharField(max_length=255, blank=True)
    pr_number = models.PositiveIntegerField(null=True, blank=True)
    pr_url = models.URLField(blank=True)
    delivered_sha = models.CharField(max_length=64, blank=True, help_text="Last commit pushed")
    last_error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="created_pipelines",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(
        null=True, blank=True, help_text="Last webhook or poll that touched its runs"
    )

    objects = TeamOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["service__slug", "slug"]
        constraints = [
            models.UniqueConstraint(fields=["service", "slug"], name="unique_pipeline_per_service")
        ]

    def __str__(self) -> str:
        return f"{self.service.slug}/{self.slug}"

    def get_absolute_url(self) -> str:
        return reverse("pipelines:pipeline_detail", args=[self.pk])

    @property
    def team(self) -> Any:
        return self.service.team


class PipelineRun(models.Model):
    """One GitHub Actions run of a pipeline's workflow, for one environment (blank = PR checks)."""

    team_field = "pipeline__service__team"

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="runs")
    environment = models.CharField(max_length=63, blank=True, db_index=True)
    github_run_id = models.BigIntegerField()
    run_attempt = models.PositiveIntegerField(default=1)
    run_number = models.PositiveIntegerField(null=True, blank=True)
    event = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED)
    conclusion = models.CharField(max_length=20, blank=True)
    source = models.CharField(max_length=10, choices=RunSource.choices, default=RunSource.WORKFLOW)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    head_branch = models.CharField(max_length=255, blank=True)
    head_sha = models.CharField(max_length=64, blank=True)
    actor = models.CharField(max_length=100, blank=True)
    html_url = models.URLField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    github_updated_at = models.DateTimeField(
        null=True, blank=True, help_text="GitHub's updated_at of the last workflow event applied"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TeamOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-github_run_id", "-run_attempt", "environment"]
        constraints = [
            models.UniqueConstraint(
                fields=["pipeline", "github_run_id", "run_attempt", "environment"],
                name="unique_pipeline_run_env",
            )
        ]
        indexes = [models.Index(fields=["pipeline", "environment", "-github_run_id"])]

    def __str__(self) -> str:
        return f"{self.pipeline} #{self.github_run_id} {self.environment or 'checks'}"

    @property
    def is_active(self) -> bool:
        return self.status in RUN_ACTIVE

    @property
    def state(self) -> str:
        """One word for the badge: the conclusion when done, else the status."""
        return self.conclusion or self.status if self.status == RunStatus.COMPLETED else self.status


class WebhookDelivery(models.Model):
    """A GitHub webhook delivery already handled; a repeated X-GitHub-Delivery is ignored."""

    delivery_id = models.CharField(max_length=100, unique=True)
    event = models.CharField(max_length=50)
    repository = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event} {self.delivery_id}"


class RuntimeBinding(models.Model):
    """Where a service runs in an environment: one of its live resources (a Lambda function,
    an S3 bucket serving a site) that deployments put versions on."""

    team_field = "service__team"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="runtimes")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="+")
    resource = models.ForeignKey(
        "provisioning.Resource", on_delete=models.PROTECT, related_name="runtime_bindings"
    )
    kind = models.CharField(max_length=20, choices=RuntimeKind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TeamOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["service__slug", "environment__order"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "environment"], name="unique_runtime_per_service_env"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service.slug} in {self.environment.slug}: {self.kind}"


class Deployment(JobRow):
    """One version of a service's artifact put on its runtime in an environment by the
    platform. The row is its job (idp/jobs): `status` is the job's (queued, running,
    succeeded, failed); a worker carries it out and streams its log into chunks."""

    team_field = "service__team"

    status = models.CharField(
        max_length=20,
        choices=DeploymentStatus.choices,
        default=DeploymentStatus.QUEUED,
        db_index=True,
    )
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="deployments")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="+")
    runtime = models.ForeignKey(
        RuntimeBinding, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=RuntimeKind.choices)
    target = models.CharField(
        max_length=255, help_text="The function or bucket deployed to (from the resource's outputs)"
    )
    version = models.CharField(max_length=128)
    commit = models.CharField(max_length=64, blank=True)
    artifact = models.CharField(max_length=1024, help_text="s3://bucket/key of the artifact")
    artifact_digest = models.CharField(
        max_length=80, blank=True, help_text="sha256:<hex> of the artifact, read when deployed"
    )
    pipeline_run = models.ForeignKey(
        PipelineRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="deployments"
    )
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The author chain (as a plan's): who else caused this deployment (a promotion's or a
    # rollback's source deployer). Four eyes counts them with the triggerer.
    authors = models.JSONField(default=list, blank=True)
    reason = models.TextField(blank=True)
    promoted_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="promotions"
    )
    rollback_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="rollbacks"
    )
    outcome = models.JSONField(
        default=dict, blank=True, help_text="What the runtime reported (version published, …)"
    )
    log_size = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = TeamOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["service", "environment", "-created_at"])]

    def __str__(self) -> str:
        return f"deployment {self.pk} of {self.service.slug} {self.version} to {self.environment}"

    def get_absolute_url(self) -> str:
        return reverse("pipelines:deployment_detail", args=[self.pk])

    @property
    def team(self) -> Any:
        return self.service.team


class DeploymentLogChunk(models.Model):
    """A batch of a deployment's log lines (as a run's `RunLogChunk`)."""

    team_field = "deployment__service__team"

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="log_chunks")
    seq = models.PositiveIntegerField()
    offset = models.PositiveIntegerField(help_text="Character offset of this chunk in the log")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["deployment", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["deployment", "seq"], name="unique_deployment_log_seq")
        ]

    def __str__(self) -> str:
        return f"deployment {self.deployment_id} log #{self.seq}"


class DeploymentApproval(models.Model):
    """Who approved or rejected a deployment awaiting its environment's approval, and why."""

    team_field = "deployment__service__team"

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="approvals")
    decision = models.CharField(max_length=10, choices=ApprovalDecision.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["deployment", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "decided_by"], name="unique_deployment_decision"
            )
        ]

    def __str__(self) -> str:
        return f"{self.decision} of deployment {self.deployment_id}"
