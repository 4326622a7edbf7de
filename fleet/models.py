"""A fleet upgrade: many resources of one template moved to a target version, in waves."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from catalog.models import Template, TemplateVersion
from idp.models import Team
from idp.rbac import TeamOwnedQuerySet
from provisioning.models import Resource, Run

from .choices import FleetStatus, ItemStatus, PlanGroup


class FleetUpgrade(models.Model):
    """Plans every selected resource against `target_version`, then applies wave by wave."""

    template = models.ForeignKey(Template, on_delete=models.PROTECT, related_name="fleet_upgrades")
    target_version = models.ForeignKey(
        TemplateVersion, on_delete=models.PROTECT, related_name="fleet_upgrades"
    )
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="fleet_upgrades",
        help_text="The team whose resources it moves; empty: platform-wide (platform admins)",
    )
    selection = models.JSONField(
        default=dict, help_text="How the resources were chosen: kind and values"
    )
    waves = models.JSONField(
        default=list, help_text="The waves in order: name, and environments or a percentage"
    )
    status = models.CharField(
        max_length=20, choices=FleetStatus.choices, default=FleetStatus.PLANNING, db_index=True
    )
    current_wave = models.PositiveIntegerField(default=0)
    parallelism = models.PositiveIntegerField(
        default=10, help_text="At most this many plans (and applies) in flight at once"
    )
    failure_threshold = models.PositiveIntegerField(
        default=0,
        help_text="Pause when more than this percentage of a wave's applies failed",
    )
    auto_apply = models.BooleanField(
        default=True, help_text="Start the waves once every plan finished (else: resume)"
    )
    pause_reason = models.TextField(blank=True)
    acknowledged_failures = models.PositiveIntegerField(
        default=0,
        help_text="Failures of the current wave known when it was resumed (they pause no more)",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    planned_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TeamOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"fleet upgrade {self.pk}: {self.template.slug} → {self.target_version.display}"

    def get_absolute_url(self) -> str:
        return reverse("fleet:detail", args=[self.pk])


class FleetItem(models.Model):
    """One selected resource of a fleet upgrade: its wave, plan, apply and outcome."""

    fleet = models.ForeignKey(FleetUpgrade, on_delete=models.CASCADE, related_name="items")
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="fleet_items")
    from_version = models.ForeignKey(TemplateVersion, on_delete=models.PROTECT, related_name="+")
    wave = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=20, choices=ItemStatus.choices, default=ItemStatus.PENDING, db_index=True
    )
    group = models.CharField(max_length=20, choices=PlanGroup.choices, blank=True)
    plan_run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    apply_run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TeamOwnedQuerySet.as_manager()
    team_field = "resource__team"

    class Meta:
        ordering = ["wave", "id"]
        constraints = [
            models.UniqueConstraint(fields=["fleet", "resource"], name="unique_fleet_resource")
        ]
        indexes = [models.Index(fields=["fleet", "status"]), models.Index(fields=["fleet", "wave"])]

    def __str__(self) -> str:
        return f"{self.fleet_id}/{self.resource_id} ({self.status})"
