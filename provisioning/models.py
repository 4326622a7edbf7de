from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from catalog.models import Service, Template, TemplateVersion
from idp.jobs.models import JobRow
from idp.models import Environment, Team
from idp.rbac import TeamOwnedQuerySet

from .choices import ApprovalDecision, PlanHold, ResourceStatus, RunKind, RunStatus


class Resource(models.Model):
    """One instance of a template for a team (and optionally a service) in an environment."""

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="resources")
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.SET_NULL, related_name="resources"
    )
    template = models.ForeignKey(Template, on_delete=models.PROTECT, related_name="resources")
    template_version = models.ForeignKey(
        TemplateVersion, on_delete=models.PROTECT, related_name="resources"
    )
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="resources")
    name = models.SlugField(max_length=63)
    parameters = models.JSONField(default=dict, help_text="Non-sensitive parameters")
    sensitive_parameters = models.TextField(
        blank=True, help_text="Sensitive parameters, encrypted; never shown"
    )
    status = models.CharField(
        max_length=20, choices=ResourceStatus.choices, default=ResourceStatus.PENDING, db_index=True
    )
    outputs = models.JSONField(default=dict, blank=True, help_text="Non-sensitive outputs")
    sensitive_outputs = models.TextField(blank=True, help_text="Sensitive outputs, encrypted")
    sensitive_output_names = models.JSONField(default=list, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="requested_resources",
    )
    requires_platform_admin = models.BooleanField(
        default=False, help_text="Over the team's budget: only a platform admin may approve"
    )
    estimated_monthly_cost = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True
    )
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    drifted = models.BooleanField(default=False, db_index=True)
    drift_details = models.JSONField(default=dict, blank=True)
    drift_checked_at = models.DateTimeField(null=True, blank=True)
    drift_digest = models.CharField(
        max_length=64,
        blank=True,
        help_text="Fingerprint of the drift last notified (once per new drift)",
    )
    drift_notified_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(
        null=True,
        blank=True,
        db_index=True,
        help_text="A failed or rejected request put away: hidden from lists, kept in audit",
    )
    last_error = models.TextField(blank=True)
    idempotency_key = models.CharField(max_length=200, blank=True)
    proposal_after_run = models.PositiveBigIntegerField(
        default=0,
        help_text="Plans after this run id make up the pending proposed change; applying "
        "or discarding the proposal moves it past them",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    provisioned_at = models.DateTimeField(null=True, blank=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)
    # Resource-level permissions (idp/rbac.py): a restricted resource is changed, approved
    # and destroyed only by its team's roles at or above `restricted_role` and the people
    # granted `operate_resource` on it; `view_resource` / `use_resource` grants to another
    # team's groups share it read-only or as a dependency.
    restricted = models.BooleanField(
        default=False, help_text="Only named people or the roles at or above the floor act on it"
    )
    restricted_role = models.CharField(
        max_length=20,
        blank=True,
        choices=[("maintainer", "Maintainers and admins"), ("admin", "Admins")],
        help_text="The role floor of a restricted resource; empty: named people only",
    )

    objects = TeamOwnedQuerySet.as_manager()
    shared_through = ("provisioning.Resource", "pk")
    restriction_path = ""

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["team", "-created_at"]),
            models.Index(fields=["team", "status"]),
            models.Index(fields=["environment", "status"]),
            models.Index(fields=["template", "status"]),
            models.Index(fields=["service", "-created_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "environment", "name"],
                condition=~models.Q(status__in=["destroyed", "rejected"]),
                name="unique_live_resource_name",
            ),
            models.UniqueConstraint(
                fields=["requested_by", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="unique_resource_idempotency_key",
            ),
        ]
        permissions = [
            ("approve_resource", "Approve or reject plans"),
            ("operate_resource", "Change, approve or destroy the resource where it is restricted"),
            ("use_resource", "Take the resource's outputs as a dependency (a share)"),
        ]

    def __str__(self) -> str:
        return f"{self.team.slug}/{self.environment.slug}/{self.name}"

    def get_absolute_url(self) -> str:
        return reverse("provisioning:resource_detail", args=[self.pk])


class Run(JobRow):
    """One Terraform operation on a resource; a job of the job framework (idp/jobs, the
    `provisioning.run` kind) whose statuses only the lifecycle writes."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=10, choices=RunKind.choices)
    status = models.CharField(
        max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True
    )
    # A run is created queued: the sweeper's grace counts from then.
    queued_at = models.DateTimeField(
        default=timezone.now, null=True, blank=True, help_text="When it was queued"
    )
    template_version = models.ForeignKey(
        TemplateVersion, on_delete=models.PROTECT, related_name="runs"
    )
    parameters = models.JSONField(default=dict, help_text="Non-sensitive inputs of this run")
    sensitive_parameters = models.TextField(
        blank=True, help_text="Sensitive inputs of this run, encrypted; never shown"
    )
    is_destroy = models.BooleanField(default=False, help_text="A plan/apply that destroys")
    refresh_only = models.BooleanField(
        default=False, help_text="A -refresh-only plan/apply: accepts the real values as intended"
    )
    plan_run = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="applies",
        help_text="For an apply: the plan whose file it applies",
    )
    plan_file = models.BinaryField(null=True, blank=True, editable=False)
    plan_hash = models.CharField(max_length=64, blank=True)
    plan_summary = models.JSONField(default=dict, blank=True)
    plan_text = models.TextField(blank=True)
    plan_changes = models.JSONField(
        default=dict,
        blank=True,
        help_text="Attribute-level changes of the plan (resources and outputs), "
        "sensitive values masked",
    )
    approval_requirement = models.JSONField(
        default=dict, blank=True, help_text="What this plan needs before it may be applied"
    )
    risk = models.PositiveSmallIntegerField(
        default=0, help_text="How much the plan's review matters (approval rules); inbox order"
    )
    hold = models.CharField(
        max_length=10,
        choices=PlanHold.choices,
        default=PlanHold.NONE,
        blank=True,
        help_text="A plan held after it succeeds until released (a fleet's waves)",
    )
    state_serial = models.IntegerField(
        null=True, blank=True, help_text="The backend state's serial when this run started"
    )
    state_lineage = models.CharField(
        max_length=64, blank=True, help_text="The backend state's lineage when this run started"
    )
    outcome_unknown = models.BooleanField(
        default=False,
        help_text="Lost after Terraform changed the state: what it did is found by a new plan",
    )
    recovers = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="recoveries",
        help_text="For a plan: the lost run whose outcome it finds out",
    )
    policy_summary = models.JSONField(
        default=dict,
        blank=True,
        help_text="The policies' results on this plan (counts, results, digest, override)",
    )
    cost = models.JSONField(
        null=True,
        blank=True,
        help_text="The plan's monthly cost priced from the price catalog: before, after, "
        "delta, a line per resource and what could not be priced",
    )
    plan_document = models.TextField(
        blank=True,
        help_text="The plan as `show -json`, encrypted: policies are evaluated on it again "
        "when they change",
    )
    cancel_requested = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The author chain (`provisioning.causes`): who caused a run nobody started by hand.
    authors = models.JSONField(
        default=list,
        blank=True,
        help_text="Ids of the people whose change caused this run besides its starter (an "
        "upstream change's authors, a refused plan's); for an apply, everyone who touched the "
        "change it applies. Four eyes counts them as authors of the change",
    )
    caused_by = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="caused",
        help_text="The run whose outcome started this one (an upstream's apply, a drift check)",
    )
    cause = models.CharField(
        max_length=200, blank=True, help_text="Why the platform started this run, if it did"
    )
    log_size = models.PositiveIntegerField(default=0)
    pending_state = models.BinaryField(
        null=True,
        blank=True,
        editable=False,
        help_text="Terraform state this apply could not store in the backend, encrypted; "
        "pushed when the backend answers again, then cleared",
    )
    pending_state_attempts = models.PositiveIntegerField(
        default=0, help_text="Failed attempts to push the pending state"
    )
    pending_state_retry_at = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="When the pending state is pushed next"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = TeamOwnedQuerySet.as_manager()
    team_field = "resource__team"
    shared_through = ("provisioning.Resource", "resource_id")
    restriction_path = "resource"

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["resource", "-created_at"]),
            models.Index(fields=["status", "created_at"]),
            # The plans that could await a decision, in the inbox's order (riskiest first,
            # then the window closing soonest): the approvals badge and a page of the inbox
            # read a few entries of it instead of scanning every run.
            models.Index(
                fields=["-risk", "finished_at", "id"],
                name="run_decidable_plans_idx",
                condition=models.Q(kind=RunKind.PLAN, status=RunStatus.SUCCEEDED)
                & ~models.Q(plan_hash=""),
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.kind} {self.status})"

    def get_absolute_url(self) -> str:
        return reverse("provisioning:run_detail", args=[self.pk])

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class RunLogChunk(models.Model):
    """A batch of a run's log lines (Terraform JSON events rendered), secrets redacted."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="log_chunks")
    seq = models.PositiveIntegerField()
    offset = models.PositiveIntegerField(help_text="Character offset of this chunk in the log")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamOwnedQuerySet.as_manager()
    team_field = "run__resource__team"

    class Meta:
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="unique_run_log_seq")]

    def __str__(self) -> str:
        return f"run {self.run_id} log #{self.seq}"


class Approval(models.Model):
    """Who approved or rejected which plan, when, and why."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="approvals")
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="approvals")
    decision = models.CharField(max_length=10, choices=ApprovalDecision.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    break_glass = models.BooleanField(
        default=False, help_text="A platform admin acting alone, past the four-eyes rule"
    )
    plan_hash = models.CharField(max_length=64)
    policy_digest = models.CharField(
        max_length=64, blank=True, help_text="The policy results the decision was made on"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    objects = TeamOwnedQuerySet.as_manager()
    team_field = "resource__team"
    shared_through = ("provisioning.Resource", "resource_id")
    restriction_path = "resource"

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.decision} {self.resource} by {self.decided_by}"


class ResourceLock(models.Model):
    """At most one active run per resource; the Terraform S3 lock file is the second line."""

    resource = models.OneToOneField(Resource, on_delete=models.CASCADE, related_name="lock")
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="+")
    acquired_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "resource lock"

    def __str__(self) -> str:
        return f"lock on resource {self.resource_id} by run {self.run_id}"


class StateSummary(models.Model):
    """What a resource's Terraform state says, cached (`engine.state_cache`): its identity
    (serial, lineage), resource addresses and outputs, valid while the S3 object is the one
    read (its ETag and version id, checked with one HeadObject before each use). Never the
    state itself; sensitive output values only encrypted."""

    resource = models.OneToOneField(
        Resource, on_delete=models.CASCADE, primary_key=True, related_name="state_summary"
    )
    key = models.CharField(max_length=400, help_text="The state object's S3 key")
    etag = models.CharField(max_length=200, help_text="The state object's ETag when read")
    version_id = models.CharField(
        max_length=1024, blank=True, help_text="The state object's version id when read"
    )
    serial = models.BigIntegerField(default=0)
    lineage = models.CharField(max_length=64, blank=True)
    resource_count = models.PositiveIntegerField(
        default=0, help_text="Resource blocks in the state (none: counts as no state)"
    )
    addresses = models.JSONField(default=list, blank=True, help_text="Resource instance addresses")
    outputs = models.JSONField(default=dict, blank=True, help_text="Non-sensitive output values")
    sensitive_outputs = models.TextField(blank=True, help_text="Sensitive output values, encrypted")
    sensitive_output_names = models.JSONField(default=list, blank=True)
    size = models.PositiveBigIntegerField(default=0, help_text="The state object's bytes")
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "state summaries"

    def __str__(self) -> str:
        return f"state of resource {self.resource_id}: serial {self.serial}"


class ResourceDependency(models.Model):
    """A parameter of one resource that takes its value from another resource's output."""

    dependant = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="dependencies")
    upstream = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="dependants")
    parameter = models.CharField(max_length=100, help_text="The dependant's parameter name")
    output = models.CharField(max_length=100, help_text="The upstream resource's output name")
    value_digest = models.CharField(
        max_length=64, blank=True, help_text="Digest of the output value last planned with"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "resource dependencies"
        constraints = [
            models.UniqueConstraint(
                fields=["dependant", "parameter"], name="unique_dependency_per_parameter"
            )
        ]

    def __str__(self) -> str:
        return f"{self.dependant_id}.{self.parameter} ← {self.upstream_id}.{self.output}"
