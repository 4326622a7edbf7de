from __future__ import annotations

from django.db import models
from django.urls import reverse

from idp.models import Team, slug_validator
from idp.rbac import TeamOwnedQuerySet

from .choices import Lifecycle, Tier


class Template(models.Model):
    """A catalog entry: a Terraform module plus template.yaml, in one or more versions."""

    slug = models.SlugField(max_length=63, unique=True, validators=[slug_validator])
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=50, db_index=True, blank=True)
    owner_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_templates"
    )
    source_path = models.CharField(
        max_length=1000, blank=True, help_text="Folder it was synced from"
    )
    current_version = models.ForeignKey(
        "TemplateVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deprecated = models.BooleanField(default=False, help_text="Hidden from new requests")
    sync_error = models.TextField(blank=True, help_text="Last sync problem, with file and line")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    def get_absolute_url(self) -> str:
        return reverse("catalog:template_detail", args=[self.slug])


class TemplateVersion(models.Model):
    """One immutable version of a template, keyed by the hash of its content.

    The module files are kept here so a resource made from version N is planned
    from exactly those files, whatever the folder holds today.
    """

    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    content_hash = models.CharField(max_length=64)
    files = models.JSONField(default=dict, help_text="Relative path -> file text of the module")
    metadata = models.JSONField(default=dict, help_text="template.yaml as loaded")
    parameters_schema = models.JSONField(default=dict)
    outputs = models.JSONField(default=list)
    readme = models.TextField(blank=True)
    approval_policy = models.JSONField(
        default=dict,
        help_text="environment slug -> 'none' | 'required' | 'admin' | approvals (1-5); "
        "adds to the environment's rule (provisioning.approval_policy), never removes it",
    )
    cost_hints = models.JSONField(default=dict)
    alarms = models.JSONField(default=list, blank=True)
    allowed_environments = models.JSONField(
        default=list, blank=True, help_text="Empty = every environment"
    )
    changelog = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="unique_template_version"),
            models.UniqueConstraint(
                fields=["template", "content_hash"], name="unique_template_content"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template.slug}@{self.number}"

    def allows_environment(self, environment_slug: str) -> bool:
        return not self.allowed_environments or environment_slug in self.allowed_environments


class Service(models.Model):
    """A software component owned by a team, with its repository, resources and pipelines."""

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="services")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=63, unique=True, validators=[slug_validator])
    description = models.TextField(blank=True)
    repository_url = models.URLField(blank=True)
    lifecycle = models.CharField(
        max_length=20, choices=Lifecycle.choices, default=Lifecycle.EXPERIMENTAL, db_index=True
    )
    tier = models.PositiveSmallIntegerField(choices=Tier.choices, default=Tier.STANDARD)
    links = models.JSONField(default=list, blank=True, help_text='[{"title": …, "url": …}]')
    tags = models.JSONField(default=list, blank=True)
    archived = models.BooleanField(default=False, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TeamOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["slug"]
        indexes = [
            models.Index(fields=["team", "slug"]),
            models.Index(fields=["name"]),
            # The service lists filter on these and order by slug.
            models.Index(fields=["archived", "slug"], name="catalog_service_archived_slug"),
            models.Index(fields=["team", "lifecycle"], name="catalog_service_team_lifecycle"),
        ]

    def __str__(self) -> str:
        return self.slug

    def get_absolute_url(self) -> str:
        return reverse("catalog:service_detail", args=[self.slug])
