from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from .choices import MembershipSource, Role, SSOMappingMode, StateLocking
from .rbac import TeamOwnedQuerySet

# The one naming rule of the platform (teams, environments, services, resources): a DNS
# label, since these names end up in AWS resource names, state keys and URLs.
SLUG_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
SLUG_RULE = (
    "Use 1-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit"
)
slug_validator = RegexValidator(SLUG_PATTERN, SLUG_RULE)


class Team(models.Model):
    slug = models.SlugField(max_length=63, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamOwnedQuerySet.as_manager()
    team_field = "id"

    class Meta:
        ordering = ["slug"]
        permissions = [
            ("use_team", "Request resources and create services for the team"),
            ("maintain_team", "Edit services, approve plans and destroy resources of the team"),
            ("manage_team", "Manage the team's members and budgets"),
        ]

    def __str__(self) -> str:
        return self.slug

    def get_absolute_url(self) -> str:
        return reverse("team_detail", args=[self.slug])

    def group_name(self, role: str) -> str:
        return f"team:{self.slug}:{role}"

    @staticmethod
    def slug_of_group(name: str) -> str | None:
        """The team slug of a role group's name (`group_name`), else None."""
        parts = name.split(":")
        return parts[1] if len(parts) == 3 and parts[0] == "team" else None

    def role_group(self, role: str) -> Group:
        return Group.objects.get(name=self.group_name(role))


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    source = models.CharField(
        max_length=10,
        choices=MembershipSource.choices,
        default=MembershipSource.MANUAL,
        help_text="Manual memberships are never changed by SSO or SCIM",
    )
    sso_group = models.CharField(
        max_length=255, blank=True, help_text="The IdP group that granted an SSO/SCIM membership"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["team__slug", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="unique_team_membership")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"


class Environment(models.Model):
    """A deployment target: an AWS account and region, and its approval rule."""

    slug = models.SlugField(max_length=63, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    order = models.PositiveIntegerField(default=0)
    aws_account_id = models.CharField(max_length=12, blank=True)
    aws_region = models.CharField(max_length=32, default="eu-west-1")
    aws_role_arn = models.CharField(
        max_length=2048, blank=True, help_text="Role assumed through STS; empty = default chain"
    )
    aws_endpoint_url = models.URLField(
        blank=True, help_text="A local AWS API (moto) for sandboxes; empty = real AWS"
    )
    requires_approval = models.BooleanField(default=False)
    approvals_required = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="How many distinct approvers a plan needs here (when approval is required)",
    )
    allows_ttl = models.BooleanField(
        default=False, help_text="Resources here may carry an expiry date"
    )
    is_production = models.BooleanField(default=False)
    approver_role = models.CharField(
        max_length=20,
        choices=[
            ("maintainer", "Maintainers and admins of the team"),
            ("admin", "Admins of the team"),
        ],
        default="maintainer",
        help_text="Which roles of the owning team may approve plans here (platform admins always)",
    )
    over_budget_platform_admin = models.BooleanField(
        default=True,
        help_text="A plan that takes its team over budget needs a platform admin's approval",
    )
    auto_approve_allowed = models.BooleanField(
        default=False,
        help_text="Approval rules may auto-approve plans here (never a destroy or a replacement)",
    )
    members_may_destroy = models.BooleanField(
        default=False,
        help_text="Members (not only maintainers) may destroy their team's resources here",
    )
    auto_reconcile_drift = models.BooleanField(
        default=False,
        help_text="Drift found here is reconciled automatically (sandbox/dev)",
    )
    state_locking = models.CharField(
        max_length=20,
        choices=StateLocking.choices,
        default=StateLocking.S3_LOCKFILE,
        help_text="How Terraform locks state here",
    )
    dynamodb_lock_table = models.CharField(
        max_length=255, blank=True, help_text="Lock table name when locking with DynamoDB"
    )

    class Meta:
        ordering = ["order", "slug"]

    def __str__(self) -> str:
        return self.slug


class NotificationPreference(models.Model):
    """Which messages a user wants; a user without a row gets them all."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    plans_to_decide = models.BooleanField(
        default=True, help_text="A plan awaits my decision (e-mail)"
    )
    my_requests = models.BooleanField(
        default=True,
        help_text="My requests and changes are decided, applied or fail (e-mail)",
    )
    drift_found = models.BooleanField(
        default=True, help_text="A resource of my teams drifted from its configuration (e-mail)"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"notification preferences of {self.user}"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class APIToken(models.Model):
    """A personal API token; only its SHA-256 is stored, the raw value is shown once."""

    PREFIX = "idp_"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, default="default")
    key_prefix = models.CharField(max_length=12, help_text="First characters, to recognise it")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    scopes = models.JSONField(default=list, blank=True, help_text="TokenScope values")
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        help_text="Only this team's objects, when set",
    )
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    # Set on the short-lived tokens a CI provider's OIDC token was exchanged for.
    workload_binding = models.ForeignKey(
        "WorkloadIdentityBinding",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="issued_tokens",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.key_prefix}… ({self.name})"

    @classmethod
    def generate(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)

    @property
    def is_active(self) -> bool:
        if self.revoked_at:
            return False
        return not (self.expires_at and self.expires_at <= timezone.now())


# Service account users are named `sa:<team>:<name>`: the username validator of people
# (letters, digits and @.+-_) never allows ":", so no person can pass for one.
SERVICE_ACCOUNT_PREFIX = "sa:"
SERVICE_ACCOUNT_ROLES = [Role.VIEWER, Role.MEMBER, Role.MAINTAINER]


class ServiceAccount(models.Model):
    """A team-owned non-human identity (CI, scripts): a User row that cannot sign in,
    acts only through its scoped tokens, and never approves."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="service_account"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="service_accounts")
    name = models.SlugField(max_length=40, validators=[slug_validator])
    description = models.TextField(blank=True)
    role = models.CharField(
        max_length=20,
        choices=[(r.value, r.label) for r in SERVICE_ACCOUNT_ROLES],
        default=Role.MEMBER,
        help_text="What it may do in its team (never admin; approving is never possible)",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="created_service_accounts",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    disabled_at = models.DateTimeField(null=True, blank=True)

    objects = TeamOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["team__slug", "name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="unique_service_account_name")
        ]

    def __str__(self) -> str:
        return self.username

    @property
    def username(self) -> str:
        return self.user.get_username()

    @staticmethod
    def username_for(team: Team, name: str) -> str:
        return f"{SERVICE_ACCOUNT_PREFIX}{team.slug}:{name}"

    @classmethod
    def of(cls, user: Any) -> ServiceAccount | None:
        """The service account `user` is, or None for a person (no query for people)."""
        if user is None or not getattr(user, "is_authenticated", False):
            return None
        if not str(user.get_username()).startswith(SERVICE_ACCOUNT_PREFIX):
            return None
        try:
            account: ServiceAccount = user.service_account
        except cls.DoesNotExist:
            return None
        return account


class WorkloadIdentityBinding(models.Model):
    """Trust a CI provider's OIDC token (GitHub Actions) from one repository, and optionally
    only some refs or environments, as the given service account."""

    service_account = models.ForeignKey(
        ServiceAccount, on_delete=models.CASCADE, related_name="workload_bindings"
    )
    repository = models.CharField(max_length=200, help_text='GitHub "owner/name"')
    # GitHub's numeric ids of the repository and its owner (the token's repository_id and
    # repository_owner_id): a repository deleted and created again under the same name, or
    # an organisation name taken over, has new ids. Unset until given at binding time or
    # pinned by the first successful exchange (trust on first use).
    repository_id = models.BigIntegerField(null=True, blank=True)
    repository_owner_id = models.BigIntegerField(null=True, blank=True)
    ref_pattern = models.CharField(
        max_length=200,
        blank=True,
        help_text="Glob on the token's ref claim, e.g. refs/heads/main (empty: any ref)",
    )
    environment_pattern = models.CharField(
        max_length=200,
        blank=True,
        help_text="Glob on the token's environment claim, e.g. prod* (empty: any or none)",
    )
    # Plain text: idp never imports the catalog; the pipeline names the service it deploys.
    service_slug = models.CharField(max_length=63, blank=True)
    scopes = models.JSONField(default=list, blank=True, help_text="Scopes of issued tokens")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamOwnedQuerySet.as_manager()
    team_field = "service_account__team"

    class Meta:
        ordering = ["repository", "pk"]
        verbose_name = "workload identity binding"

    def __str__(self) -> str:
        return f"{self.repository} → {self.service_account}"


class UsedOIDCToken(models.Model):
    """An OIDC token already traded (its issuer and jti, hashed), kept until it expires: the
    unique key makes "first use" one INSERT that only one process can win."""

    key = models.CharField(max_length=64, unique=True, help_text="SHA-256 of issuer and jti")
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "used OIDC token"

    def __str__(self) -> str:
        return f"{self.key[:12]}… until {self.expires_at:%Y-%m-%d %H:%M}"


class SCIMIdentity(models.Model):
    """Marks a user SCIM may manage: one SCIM created, or one a platform admin handed to it
    (`claimed_by`/`claimed_at`). Superusers, staff, platform admins and service accounts stay
    outside SCIM even when marked (`idp.auth.scim_filters.scim_managed_users`)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scim_identity"
    )
    external_id = models.CharField(
        max_length=255, blank=True, help_text="The identity provider's id of the user"
    )
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The platform admin who handed an existing user to SCIM",
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "SCIM identity"
        verbose_name_plural = "SCIM identities"

    def __str__(self) -> str:
        return f"SCIM identity of {self.user}"


class SSOGroupMapping(models.Model):
    """An identity provider group (name or glob pattern) that grants a role in a team."""

    group_pattern = models.CharField(
        max_length=255, help_text="Group name or glob pattern, e.g. eng-payments or eng-*"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="sso_mappings")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    mode = models.CharField(
        max_length=10, choices=SSOMappingMode.choices, default=SSOMappingMode.MANAGE
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__slug", "group_pattern"]
        verbose_name = "SSO group mapping"
        constraints = [
            models.UniqueConstraint(
                fields=["group_pattern", "team"], name="unique_sso_group_mapping"
            )
        ]

    def __str__(self) -> str:
        return f"{self.group_pattern} → {self.team} ({self.role})"


class AuditEventQuerySet(TeamOwnedQuerySet):
    def update(self, **kwargs: Any) -> int:
        raise PermissionDenied("Audit events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionDenied("Audit events are append-only")


class AuditEvent(models.Model):
    """Append-only record of a state change: who, what, on what, when, from where."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    actor_name = models.CharField(max_length=150, help_text="Username, or 'system' for workers")
    action = models.CharField(max_length=100, db_index=True)
    target_type = models.CharField(max_length=100, db_index=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=300, blank=True)
    # No constraints: the record outlives the team and the user it names.
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="audit_events",
        db_constraint=False,
    )
    details = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["team", "-created_at"]),
            models.Index(fields=["target_type", "target_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise PermissionDenied("Audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionDenied("Audit events are append-only")


class IdempotencyKey(models.Model):
    """An `Idempotency-Key` one principal sent with an API write, and the first answer to it.

    The row is written before the handler runs (`finished_at` empty: in progress), so a
    parallel request with the same key finds it through the unique (user, key) constraint
    and never acts a second time; the answer (status, encrypted body: a new token's raw
    value may be in it) is stored when the handler returns. `idp.api.idempotency` holds the
    rule; the jobs' housekeeping deletes rows past `expires_at`."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotency_keys"
    )
    key = models.CharField(max_length=200)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=2000)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body")
    started_at = models.DateTimeField(help_text="When the request holding the key started")
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(db_index=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    answer = models.TextField(blank=True, help_text="Body and headers, encrypted (Fernet)")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="unique_idempotency_key")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.method} {self.path})"


class WorkerHeartbeat(models.Model):
    """The last sign of life of one Celery worker: each worker writes its row every
    IDP_WORKER_HEARTBEAT_SECONDS (`idp.ops.heartbeats`), so `/readyz` and the platform
    status read the database instead of pinging workers over the broker."""

    hostname = models.CharField(max_length=255, unique=True, help_text="The worker's name")
    beat_at = models.DateTimeField(help_text="Its last heartbeat")

    def __str__(self) -> str:
        return f"{self.hostname} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
