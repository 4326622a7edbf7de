from __future__ import annotations

from django.db import models
from django.urls import reverse

from idp.models import Team
from idp.rbac import TeamOwnedQuerySet

from .choices import Enforcement, Level, PolicyKind, Rule


class Policy(models.Model):
    """One Rego policy file, with its scope and enforcement; versions keep its history."""

    slug = models.SlugField(max_length=100, unique=True)
    package = models.CharField(max_length=200)
    kind = models.CharField(
        max_length=10,
        choices=PolicyKind.choices,
        default=PolicyKind.POLICY,
        help_text="A deny/warn policy, or an approval rule (package under <namespace>.approval)",
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    enforcement = models.CharField(
        max_length=25, choices=Enforcement.choices, default=Enforcement.ADVISORY
    )
    environments = models.JSONField(default=list, blank=True, help_text="Empty = every one")
    templates = models.JSONField(default=list, blank=True, help_text="Empty = every one")
    teams = models.JSONField(default=list, blank=True, help_text="Empty = every one")
    origin = models.CharField(max_length=20, default="shipped", help_text="shipped or extra")
    path = models.CharField(max_length=1000, blank=True)
    current_version = models.ForeignKey(
        "PolicyVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sync_error = models.TextField(
        blank=True, help_text="Why the file on disk does not load; the policy then fails plans"
    )
    removed = models.BooleanField(default=False, help_text="Its file is gone: not evaluated")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        verbose_name_plural = "policies"

    def __str__(self) -> str:
        return self.slug

    def get_absolute_url(self) -> str:
        return reverse("policies:policy_detail", args=[self.slug])

    def applies_to(self, *, environment: str, template: str, team: str) -> bool:
        """Whether the policy's scope covers a plan of `template` for `team` in `environment`."""
        return (
            (not self.environments or environment in self.environments)
            and (not self.templates or template in self.templates)
            and (not self.teams or team in self.teams)
        )


class PolicyVersion(models.Model):
    """One immutable text of a policy, keyed by its content hash."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    content_hash = models.CharField(max_length=64)
    source = models.TextField()
    enforcement = models.CharField(max_length=25, choices=Enforcement.choices)
    changelog = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["policy", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "number"], name="unique_policy_version"),
            models.UniqueConstraint(
                fields=["policy", "content_hash"], name="unique_policy_content"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy.slug} v{self.number}"


class PolicyResult(models.Model):
    """One finding of one policy version on one plan run (kept for the plan and for trends)."""

    run = models.ForeignKey(
        "provisioning.Run", on_delete=models.CASCADE, related_name="policy_results"
    )
    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="results")
    version = models.ForeignKey(
        PolicyVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    enforcement = models.CharField(max_length=25, choices=Enforcement.choices)
    level = models.CharField(max_length=10, choices=Level.choices)
    rule = models.CharField(max_length=10, choices=Rule.choices, blank=True)
    message = models.TextField(blank=True)
    address = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = TeamOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["run", "id"]
        indexes = [
            models.Index(fields=["policy", "level", "created_at"]),
            models.Index(fields=["team", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.policy.slug} {self.level} on run {self.run_id}"
