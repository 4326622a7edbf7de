"""Pipelines: a generated GitHub Actions workflow for a service, its pull request and runs."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse

from catalog.models import Service
from idp.jobs.models import JobRow
from idp.rbac import TeamOwnedQuerySet

from .choices import RUN_ACTIVE, DeliveryState, PipelineTemplate, RunSource, RunStatus


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
