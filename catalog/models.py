from __future__ import annotations

import re

from django.conf import settings
from django.db import models
from django.urls import reverse

from idp.jobs.models import JobRow, JobStatus
from idp.models import Team, slug_validator
from idp.rbac import TeamOwnedQuerySet

from .choices import (
    DocsStatus,
    EntityKind,
    EntityOrigin,
    Lifecycle,
    LocationType,
    RelationType,
    ScoreLevel,
    SourceRefType,
    SourceSyncState,
    Tier,
    VersionStatus,
)


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
    source = models.ForeignKey(
        "TemplateSource",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="templates",
        help_text="The Git source whose tags are its versions (empty: a local folder)",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    def get_absolute_url(self) -> str:
        return reverse("catalog:template_detail", args=[self.slug])


# A tag such as `v1.1.0` or `V2` names a version number: the `v` is spelling, not the name.
_V_NUMBER = re.compile(r"[vV](\d+(?:\.\d+)*(?:[-+][0-9A-Za-z.+-]+)?)")


def version_label(label: str, number: int) -> str:
    """The one name of a template version on every surface (portal, API, CLI, mail, audit).

    - a version from a template source is named by its tag, a leading `v` dropped when the
      rest is a version number: `v1.1.0` → `1.1.0`, `1.2` → `1.2`, `main@3f2a9c1b0d4e` as is;
    - a version from a local folder (no tag) is `v` and its number: `v3`.

    Shown after the template's slug as `ux-note 1.1.0` (`TemplateVersion.full_display`).
    The internal number itself is for Django admin and URLs only. A plain function so list
    queries that fetch only `label` and `number` name versions without loading them.
    """
    if not label:
        return f"v{number}"
    match = _V_NUMBER.fullmatch(label)
    return match.group(1) if match else label


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
    # Versions from a template source: the tag (or branch@commit) is the label people use.
    label = models.CharField(
        max_length=200, blank=True, help_text="The tag (or branch@commit); empty = a local folder"
    )
    semver = models.CharField(
        max_length=100, blank=True, help_text="The tag as a semantic version, when it is one"
    )
    sort_key = models.CharField(
        max_length=120,
        blank=True,
        db_index=True,
        help_text="Orders versions by semver (then number) as text: higher sorts later",
    )
    source = models.ForeignKey(
        "TemplateSource",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="versions",
    )
    source_commit = models.CharField(max_length=64, blank=True, help_text="The commit it came from")
    source_path = models.CharField(max_length=500, blank=True, help_text="Sub-path in the source")
    signature_verified = models.BooleanField(
        default=False, help_text="The tag's signature matched the source's key"
    )
    declared_safe_from = models.JSONField(
        default=list,
        blank=True,
        help_text="template.yaml `upgrade.safe_from`: semver ranges the author calls safe to "
        "upgrade from (a claim: plans decide)",
    )
    status = models.CharField(
        max_length=20, choices=VersionStatus.choices, default=VersionStatus.ACTIVE, db_index=True
    )
    status_reason = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # Recorded by a worker (catalog.services.providers): a plan needs every provider installed.
    required_providers = models.JSONField(
        default=list, blank=True, help_text="Provider addresses the module needs (hashicorp/aws)"
    )
    missing_providers = models.JSONField(
        default=list,
        blank=True,
        help_text="Needed providers the workers cannot install offline (last check)",
    )
    providers_checked_at = models.DateTimeField(
        null=True, blank=True, help_text="When a worker last checked the providers"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="unique_template_version"),
            # A local folder's versions are its distinct contents; a source's are its tags
            # (two tags may hold the same files and still be two versions).
            models.UniqueConstraint(
                fields=["template", "content_hash"],
                condition=models.Q(label=""),
                name="unique_template_content",
            ),
            models.UniqueConstraint(
                fields=["template", "label"],
                condition=~models.Q(label=""),
                name="unique_template_label",
            ),
        ]

    def __str__(self) -> str:
        return self.full_display

    @property
    def display(self) -> str:
        """What people call this version (`1.1.0`, `v3`): see `version_label`."""
        return version_label(self.label, self.number)

    @property
    def full_display(self) -> str:
        """The version where its template is not already shown: `ux-note 1.1.0`."""
        return f"{self.template.slug} {self.display}"

    @property
    def is_withdrawn(self) -> bool:
        return self.status == VersionStatus.WITHDRAWN

    @property
    def is_deprecated(self) -> bool:
        return self.status == VersionStatus.DEPRECATED

    @property
    def providers_available(self) -> bool | None:
        """Whether the workers can install every provider this version needs (None: never
        checked)."""
        if self.providers_checked_at is None:
            return None
        return not self.missing_providers

    @property
    def provider_warning(self) -> str:
        """The one sentence every surface shows when a needed provider is missing."""
        if not self.providers_checked_at or not self.missing_providers:
            return ""
        noun = "provider" if len(self.missing_providers) == 1 else "providers"
        return f"Needs {noun} {', '.join(self.missing_providers)}, not available to the workers"

    def allows_environment(self, environment_slug: str) -> bool:
        return not self.allowed_environments or environment_slug in self.allowed_environments


class TemplateSource(JobRow):
    """A Git repository (or local folder) whose matching tags (or branch) are template versions.

    The row carries its sync job (idp/jobs): `status` is the sync's, `last_sync_*` what the
    last finished sync found.
    """

    url = models.CharField(max_length=1000, help_text="Git URL, file:// URL or local path")
    ref_type = models.CharField(
        max_length=10, choices=SourceRefType.choices, default=SourceRefType.TAGS
    )
    ref_pattern = models.CharField(
        max_length=200, default="v*", help_text="Tag pattern (e.g. v*) or the branch name"
    )
    paths = models.JSONField(
        default=list, blank=True, help_text="Sub-paths, one template each (empty: the root)"
    )
    signing_key = models.TextField(
        blank=True,
        help_text="A GPG public key (armored) or SSH allowed-signers lines: tags must be "
        "signed by it",
    )
    webhook_secret = models.CharField(
        max_length=200, blank=True, help_text="HMAC-SHA256 secret of the generic webhook"
    )
    enabled = models.BooleanField(default=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_sync_result = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["url", "ref_type", "ref_pattern"], name="unique_template_source"
            )
        ]

    def __str__(self) -> str:
        from .sensitivity import redact_credentials

        return f"{redact_credentials(self.url)} ({self.ref_pattern})"

    @property
    def sync_state(self) -> str:
        """The sync job in the API's words: idle, queued or syncing."""
        if self.status == JobStatus.QUEUED:
            return SourceSyncState.QUEUED
        if self.status == JobStatus.RUNNING:
            return SourceSyncState.SYNCING
        return SourceSyncState.IDLE


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


class Location(JobRow):
    """A place entities are discovered from: a GitHub organisation or a Git repository.

    The row carries its scan job (idp/jobs); `last_result` is what the last scan found."""

    type = models.CharField(max_length=20, choices=LocationType.choices)
    target = models.CharField(
        max_length=1000, help_text="The organisation's login, or a Git URL / local path"
    )
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="catalog_locations",
        help_text="The team whose entities it may hold (empty: a platform admin's location)",
    )
    ref = models.CharField(max_length=200, blank=True, help_text="Branch or tag; empty = default")
    enabled = models.BooleanField(default=True)
    last_scan_at = models.DateTimeField(null=True, blank=True)
    last_result = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamOwnedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["type", "target", "ref"], name="unique_location")
        ]

    def __str__(self) -> str:
        return f"{self.type}:{self.target}"


class Entity(models.Model):
    """One catalog entity in Backstage's descriptor format (`kind:namespace/name`)."""

    kind = models.CharField(max_length=20, choices=EntityKind.choices, db_index=True)
    namespace = models.CharField(max_length=63, default="default")
    name = models.CharField(max_length=63)
    title = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    labels = models.JSONField(default=dict, blank=True)
    annotations = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    links = models.JSONField(default=list, blank=True)
    spec = models.JSONField(default=dict, blank=True)
    owner_ref = models.CharField(
        max_length=300, blank=True, help_text="spec.owner as written (an entity reference)"
    )
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="entities",
        help_text="The team its owner resolves to (visibility and edit rights follow it)",
    )
    service = models.OneToOneField(
        Service,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="entity",
        help_text="For a Component: the platform's service it is",
    )
    origin = models.CharField(max_length=20, choices=EntityOrigin.choices)
    platform_ref = models.CharField(
        max_length=100, blank=True, db_index=True, help_text="e.g. team:5, user:3, resource:12"
    )
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="entities"
    )
    source_url = models.CharField(max_length=1000, blank=True)
    problems = models.JSONField(
        default=list, blank=True, help_text="Dangling references, unknown owner, …"
    )
    orphaned = models.BooleanField(
        default=False, help_text="Its location no longer holds it: kept, flagged"
    )
    search_text = models.TextField(blank=True, help_text="name, title, description, tags")
    content_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TeamOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "namespace", "name"]
        verbose_name_plural = "entities"
        constraints = [
            models.UniqueConstraint(fields=["kind", "namespace", "name"], name="unique_entity_ref")
        ]
        indexes = [
            models.Index(fields=["team", "kind"]),
            models.Index(fields=["kind", "name"]),
            # The entities the search finds by their own fields (search_text never filled);
            # search_text's trigram index is PostgreSQL's, made by migration 0008.
            models.Index(
                fields=["id"],
                condition=models.Q(search_text=""),
                name="catalog_entity_unsearchable",
            ),
        ]

    def __str__(self) -> str:
        return self.ref

    @property
    def ref(self) -> str:
        """The entity reference, `kind:namespace/name` (kind lower-cased, as Backstage)."""
        return f"{self.kind.lower()}:{self.namespace}/{self.name}"


class EntityRelation(models.Model):
    """An edge between entities, stored both ways; a dangling one keeps its target's ref."""

    source = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="relations")
    type = models.CharField(max_length=20, choices=RelationType.choices)
    target = models.ForeignKey(
        Entity, null=True, blank=True, on_delete=models.CASCADE, related_name="inbound"
    )
    target_ref = models.CharField(max_length=300, help_text="kind:namespace/name")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "type", "target_ref"], name="unique_entity_relation"
            )
        ]
        indexes = [models.Index(fields=["target_ref"])]

    def __str__(self) -> str:
        return f"{self.source} {self.type} {self.target_ref}"


class DocsBuild(JobRow):
    """A TechDocs-style build of a component's docs (MkDocs + mkdocs-techdocs-core); one
    row per build, each a job (idp/jobs)."""

    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="docs_builds")
    commit = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        max_length=20, choices=DocsStatus.choices, default=DocsStatus.QUEUED, db_index=True
    )
    log = models.TextField(blank=True)
    files = models.JSONField(
        default=dict, blank=True, help_text="Relative path → built file (HTML, CSS, …) text"
    )
    search_text = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamOwnedQuerySet.as_manager()
    team_field = "entity__team"

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"docs of {self.entity} @ {self.commit or '?'} ({self.status})"


class ScorecardRule(models.Model):
    """A scorecard rule as data: which check (a registered evaluator) with which
    parameters, at which level; add one in admin without code."""

    slug = models.SlugField(max_length=63, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    evaluator = models.CharField(max_length=63, help_text="The registered check it runs")
    params = models.JSONField(default=dict, blank=True)
    level = models.CharField(max_length=10, choices=ScoreLevel.choices)
    fix_hint = models.CharField(max_length=300, blank=True, help_text="How to fix it, in words")
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["level", "slug"]

    def __str__(self) -> str:
        return self.slug


class ScorecardResult(models.Model):
    """A component's score on one day (the trend), with each rule's outcome."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="scores")
    day = models.DateField(db_index=True)
    level = models.CharField(max_length=10, choices=ScoreLevel.choices)
    passed = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    results = models.JSONField(default=list, help_text="[{rule, passed, detail}]")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamOwnedQuerySet.as_manager()
    team_field = "service__team"

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "day"], name="unique_score_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.service} {self.day}: {self.level}"
