"""API shapes of resources, runs and approvals; inputs are parsed here, rules live in the
provisioning actions (names, lookups, versions, parameters, expiry)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import Service, Template, version_label
from idp.api.fields import (
    JSONObjectField,
    SlugRuleField,
    StrictSerializer,
    VersionField,
    WholeBody,
)
from idp.models import Environment, Team

from .. import presenters
from ..actions.resource_access import access_of, access_seen_by
from ..approval_policy import Requirement
from ..choices import RunKind
from ..models import Approval, Resource, Run
from ..plan_summary import plan_counts


class ApprovalSerializer(serializers.ModelSerializer):
    decided_by = serializers.CharField(source="decided_by.username", default=None, read_only=True)

    class Meta:
        model = Approval
        fields = [
            "id",
            "run",
            "decision",
            "decided_by",
            "reason",
            "break_glass",
            "plan_hash",
            "created_at",
            "expires_at",
        ]
        read_only_fields = fields


class CostLineSerializer(serializers.Serializer):
    address = serializers.CharField()
    type = serializers.CharField(
        help_text="The resource type (`cost_hints` for a template's extras)"
    )
    action = serializers.CharField(required=False)
    monthly = serializers.CharField(help_text="Monthly cost after the change")
    monthly_before = serializers.CharField(required=False)
    delta = serializers.CharField(required=False)
    basis = serializers.CharField(help_text="How it was priced: prices, quantities, assumptions")


class UnpricedSerializer(serializers.Serializer):
    address = serializers.CharField()
    type = serializers.CharField()
    reason = serializers.CharField()


class PlanCostSerializer(serializers.Serializer):
    """A plan's cost priced from the price catalog (money as strings, two decimals)."""

    monthly_before = serializers.CharField()
    monthly_after = serializers.CharField()
    delta = serializers.CharField()
    currency = serializers.CharField()
    lines = CostLineSerializer(many=True)
    unpriced = UnpricedSerializer(many=True, help_text="Resources the catalog cannot price")
    catalog = serializers.JSONField(help_text="The catalog version: region, source, source date")
    corrected_monthly_after = serializers.CharField(
        required=False, help_text="With IDP_COST_CORRECTION: corrected by the template's actuals"
    )
    correction = serializers.JSONField(required=False)


class RunSerializer(serializers.ModelSerializer):
    """A run without its log or plan file."""

    resource: serializers.PrimaryKeyRelatedField[Resource] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )
    template_version = serializers.IntegerField(source="template_version.number", read_only=True)
    template_version_label = serializers.CharField(
        source="template_version.display",
        read_only=True,
        help_text="The version's name (as `version_label` of a resource)",
    )
    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True)
    plan_counts = serializers.SerializerMethodField()
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)
    cost = PlanCostSerializer(
        read_only=True,
        allow_null=True,
        help_text="A plan's monthly cost priced from its changes; null when not priced",
    )

    class Meta:
        model = Run
        fields = [
            "id",
            "resource",
            "kind",
            "status",
            "is_destroy",
            "refresh_only",
            "template_version",
            "template_version_label",
            "plan_run",
            "plan_hash",
            "plan_counts",
            "plan_summary",
            "cost",
            "error",
            "cancel_requested",
            "created_by",
            "log_size",
            "created_at",
            "started_at",
            "finished_at",
            "duration_seconds",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "properties": {k: {"type": "integer"} for k in ("add", "change", "destroy")},
        }
    )
    def get_plan_counts(self, run: Run) -> dict[str, int]:
        return plan_counts(run.plan_summary)


class NestedChangeSerializer(serializers.Serializer):
    path = serializers.CharField(
        help_text="The leaf's path inside the attribute (`color`, `[1]`, `rules[0].id`)"
    )
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)
    unknown = serializers.BooleanField(help_text="The value is known only after apply")
    sensitive = serializers.BooleanField(help_text="The values are masked")
    forces_replacement = serializers.BooleanField(required=False)


class LeafChangeSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="The full path: `input.color`, `ports[1]`")
    attribute = serializers.CharField(help_text="The top-level attribute it is part of")
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True, help_text="null when unknown")
    unknown = serializers.BooleanField(help_text="The value is known only after apply")
    sensitive = serializers.BooleanField(help_text="Read both sides as `(sensitive)`")
    forces_replacement = serializers.BooleanField()


class ResourceChangeSerializer(serializers.Serializer):
    """One resource change of a plan, attribute by attribute (sensitive values masked)."""

    address = serializers.CharField()
    action = serializers.CharField(help_text="create, update, delete or replace")
    action_reason = serializers.CharField(
        help_text="Terraform's reason (e.g. replace_because_cannot_update); may be empty"
    )
    replace_paths = serializers.ListField(
        child=serializers.CharField(), help_text="The attribute paths that force replacement"
    )
    changed = serializers.ListField(
        child=serializers.CharField(), help_text="The attributes that change"
    )
    before = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        allow_null=True,
        help_text="Attributes before (null for a create)",
    )
    after = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        allow_null=True,
        help_text="Attributes after (null for a delete); unknown ones are absent",
    )
    after_unknown = serializers.ListField(
        child=serializers.CharField(),
        help_text="Attribute paths known only after the apply (nested ones read "
        '"(known after apply)" inside `after`)',
    )
    sensitive = serializers.ListField(
        child=serializers.CharField(), help_text="Attributes whose whole value is masked"
    )
    nested_changes = serializers.DictField(
        child=serializers.ListField(child=NestedChangeSerializer()),
        help_text="For an object or list attribute that changes: its changed leaves "
        '(`{"input": [{"path": "message", "before": "hello", "after": "changed"}]}`)',
    )
    leaves = LeafChangeSerializer(
        many=True,
        help_text="Every changed leaf (the nested diff; unchanged objects folded); "
        "none for a delete",
    )


class OutputChangeSerializer(serializers.Serializer):
    name = serializers.CharField()
    action = serializers.CharField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)
    after_unknown = serializers.BooleanField(help_text="The value is known only after apply")
    sensitive = serializers.BooleanField(help_text="The values are masked")


class PolicyResultSerializer(serializers.Serializer):
    policy = serializers.CharField()
    version = serializers.IntegerField(allow_null=True)
    rule = serializers.CharField(help_text="deny, violation, warn; error = could not evaluate")
    level = serializers.ChoiceField(choices=["passed", "warning", "failure"])
    enforcement = serializers.ChoiceField(
        choices=["advisory", "mandatory", "mandatory-overridable"]
    )
    message = serializers.CharField(allow_blank=True)
    address = serializers.CharField(allow_blank=True, help_text="The resource it is about")


class PolicyOverrideSerializer(serializers.Serializer):
    by = serializers.CharField()
    reason = serializers.CharField()
    at = serializers.DateTimeField()


class PolicySummarySerializer(serializers.Serializer):
    passed = serializers.IntegerField(help_text="Policies with no finding")
    warnings = serializers.IntegerField()
    failures = serializers.IntegerField()
    blocking = serializers.IntegerField(help_text="Failures of mandatory policies: they hold it")
    overridable = serializers.BooleanField(
        help_text="Every blocking failure may be overridden by a platform admin"
    )
    override = PolicyOverrideSerializer(allow_null=True, required=False)
    results = PolicyResultSerializer(many=True)


class RunDetailSerializer(RunSerializer):
    """A run with its rendered plan, attribute-level changes and policy results (never the
    plan file)."""

    changes = serializers.SerializerMethodField()
    output_changes = serializers.SerializerMethodField()
    policy = serializers.SerializerMethodField(
        help_text="The policies' results on this plan; null for runs that are not plans"
    )
    approval_requirement = serializers.SerializerMethodField(
        help_text="What this plan needs before it is applied (the environment's rule raised "
        "by the template, the budget and the approval rules, each with its reason: "
        "`reasons`; `auto_approved_by` names the rule that approved it); null for runs "
        "that are not plans"
    )

    class Meta(RunSerializer.Meta):
        fields = RunSerializer.Meta.fields + [
            "plan_text",
            "parameters",
            "changes",
            "output_changes",
            "policy",
            "approval_requirement",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {
                "approvals": {"type": "integer"},
                "platform_admin": {"type": "boolean"},
                "role": {"type": "string", "description": '"admin": one approver is a team admin'},
                "reasons": {"type": "array", "items": {"type": "string"}},
                "summary": {"type": "string"},
                "auto_approved_by": {"type": "string"},
                "rules": {"type": "array", "items": {"type": "string"}},
                "risk": {"type": "integer"},
                "needed": {"type": "boolean"},
            },
            "additionalProperties": True,
        }
    )
    def get_approval_requirement(self, run: Run) -> dict[str, Any] | None:
        if run.kind != RunKind.PLAN or not run.approval_requirement:
            return None
        return Requirement.from_json(run.approval_requirement).as_json()

    @extend_schema_field(ResourceChangeSerializer(many=True))
    def get_changes(self, run: Run) -> list[dict[str, Any]]:
        return presenters.plan_changes(run)[0]

    @extend_schema_field(OutputChangeSerializer(many=True))
    def get_output_changes(self, run: Run) -> list[dict[str, Any]]:
        return presenters.plan_changes(run)[1]

    @extend_schema_field(PolicySummarySerializer(allow_null=True))
    def get_policy(self, run: Run) -> dict[str, Any] | None:
        return presenters.policy_summary(run)


class RunLogSerializer(serializers.Serializer):
    text = serializers.CharField()
    next_offset = serializers.IntegerField()
    complete = serializers.BooleanField(help_text="True once the run is over and all read")


class ResourceSerializer(serializers.ModelSerializer):
    """A resource in a list: identifiers, status, no parameters or outputs."""

    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    service: serializers.SlugRelatedField[Service] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    environment: serializers.SlugRelatedField[Environment] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    template: serializers.SlugRelatedField[Template] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    version = serializers.IntegerField(source="template_version.number", read_only=True)
    version_label = serializers.CharField(
        source="template_version.display",
        read_only=True,
        help_text="The version's one name on every surface: a template source's tag without "
        "a leading `v` (`1.1.0`), else `v` and the number (`v3`)",
    )
    version_status = serializers.CharField(
        source="template_version.status",
        read_only=True,
        help_text="active, deprecated (upgrade when you can) or withdrawn (upgrade now)",
    )
    requested_by = serializers.CharField(
        source="requested_by.username", default=None, read_only=True
    )
    url = serializers.HyperlinkedIdentityField(view_name="api:resource-detail")
    activity = serializers.SerializerMethodField(
        help_text="Whether the run carrying the status is `queued` (waiting for a worker) or "
        "`running`; null when no run works on the resource (drift checks do not count)"
    )

    class Meta:
        model = Resource
        fields = [
            "id",
            "url",
            "name",
            "team",
            "service",
            "environment",
            "template",
            "version",
            "version_label",
            "version_status",
            "status",
            "activity",
            "drifted",
            "requested_by",
            "estimated_monthly_cost",
            "requires_platform_admin",
            "expires_at",
            "created_at",
            "updated_at",
            "provisioned_at",
            "archived_at",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "enum": ["queued", "running"], "nullable": True})
    def get_activity(self, resource: Resource) -> str | None:
        return presenters.activity(resource)


class ResourceListSerializer(ResourceSerializer):
    """List rows from `resource_list_queryset`: the same fields and formats, built directly.

    DRF's per-field machinery was most of a 50-row page's time; here each row is one dict,
    formatted by the declared fields' own `to_representation`, and the detail URL is the
    list URL plus the id (the router's shape), resolved once per page.
    """

    def to_representation(self, instance: Resource) -> dict[str, Any]:
        fields = self.fields
        when = fields["created_at"].to_representation
        money = fields["estimated_monthly_cost"].to_representation
        r = instance
        return {
            "id": r.pk,
            "url": f"{self._list_url}{r.pk}/",
            "name": r.name,
            "team": r.team.slug,
            "service": r.service.slug if r.service else None,
            "environment": r.environment_slug,  # type: ignore[attr-defined]
            "template": r.template_slug,  # type: ignore[attr-defined]
            "version": r.version_number,  # type: ignore[attr-defined]
            "version_label": version_label(r.version_tag, r.version_number),  # type: ignore[attr-defined]
            "version_status": r.version_state,  # type: ignore[attr-defined]
            "status": r.status,
            "activity": r.activity,  # type: ignore[attr-defined]
            "drifted": r.drifted,
            "requested_by": r.requested_by.username if r.requested_by else None,
            "estimated_monthly_cost": (
                money(r.estimated_monthly_cost) if r.estimated_monthly_cost is not None else None
            ),
            "requires_platform_admin": r.requires_platform_admin,
            "expires_at": when(r.expires_at) if r.expires_at else None,
            "created_at": when(r.created_at),
            "updated_at": when(r.updated_at),
            "provisioned_at": when(r.provisioned_at) if r.provisioned_at else None,
            "archived_at": when(r.archived_at) if r.archived_at else None,
        }

    @cached_property
    def _list_url(self) -> str:
        request = self.context.get("request")
        url = reverse("api:resource-list")
        return request.build_absolute_uri(url) if request is not None else url


class RestrictionSerializer(serializers.Serializer):
    role = serializers.ChoiceField(
        choices=["maintainer", "admin"],
        allow_null=True,
        required=False,
        help_text="That role of the owning team and above may act; null: only the users named",
    )
    users = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Usernames (members of the owning team) who may act whatever their role",
    )


class ShareSerializer(serializers.Serializer):
    team = serializers.CharField(help_text="The slug of the team it is shared with")
    level = serializers.ChoiceField(
        choices=["read", "use"],
        default="read",
        help_text="read: see it and its runs; use: also take its outputs as a dependency",
    )


class AccessSerializer(serializers.Serializer):
    """Who may act on one resource beyond its team's roles, and who else may see it."""

    restricted_to = RestrictionSerializer(
        allow_null=True,
        required=False,
        help_text="Restrict changes, approvals and destroys; null: the team's roles decide",
    )
    shared_with = ShareSerializer(many=True, required=False)


class ResourceDetailSerializer(ResourceSerializer):
    """One resource: masked parameters and outputs, what the caller may do, runs and plan."""

    parameters = serializers.SerializerMethodField()
    outputs = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()
    current_run = serializers.SerializerMethodField()
    latest_plan = serializers.SerializerMethodField()
    approvals = serializers.SerializerMethodField()
    proposed = serializers.SerializerMethodField()
    break_glass_used = serializers.SerializerMethodField()
    access = serializers.SerializerMethodField(
        help_text="Resource-level permissions: who beyond the team's roles may act on it "
        "(`restricted_to`, null when any member may) and which teams may see it or use its "
        "outputs (`shared_with`)"
    )

    policy = serializers.SerializerMethodField(
        help_text="The policies' results on the latest plan; null before a plan"
    )

    class Meta(ResourceSerializer.Meta):
        fields = ResourceSerializer.Meta.fields + [
            "parameters",
            "proposed",
            "break_glass_used",
            "outputs",
            "allowed_actions",
            "current_run",
            "latest_plan",
            "policy",
            "approvals",
            "drift_details",
            "drift_checked_at",
            "last_error",
            "destroyed_at",
            "access",
        ]
        read_only_fields = fields

    @extend_schema_field(AccessSerializer)
    def get_access(self, resource: Resource) -> dict[str, Any]:
        request = self.context.get("request")
        if request is None:  # an internal caller: the whole access
            return access_of(resource).as_json()
        return access_seen_by(resource, request.user).as_json()

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_parameters(self, resource: Resource) -> dict[str, Any]:
        return presenters.masked_parameters(resource)

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "additionalProperties": True,
            "description": "The pending proposed change (staged version and parameters, "
            "sensitive ones masked, what changes, what its plan needs); null when none",
        }
    )
    def get_proposed(self, resource: Resource) -> dict[str, Any] | None:
        proposal = presenters.proposed_change(resource)
        if proposal and proposal.get("approval", {}).get("plan_expires_at"):
            proposal["approval"]["plan_expires_at"] = proposal["approval"][
                "plan_expires_at"
            ].isoformat()
        return proposal

    @extend_schema_field(serializers.BooleanField())
    def get_break_glass_used(self, resource: Resource) -> bool:
        return resource.approvals.filter(break_glass=True).exists()

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_outputs(self, resource: Resource) -> dict[str, Any]:
        return presenters.masked_outputs(resource)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_allowed_actions(self, resource: Resource) -> list[str]:
        return sorted(self.context.get("allowed_actions", ()))

    @extend_schema_field(RunSerializer(allow_null=True))
    def get_current_run(self, resource: Resource) -> dict[str, Any] | None:
        run = presenters.current_run(resource)
        return RunSerializer(run).data if run else None

    @extend_schema_field(RunSerializer(allow_null=True))
    def get_latest_plan(self, resource: Resource) -> dict[str, Any] | None:
        run = presenters.latest_plan(resource)
        return RunSerializer(run).data if run else None

    @extend_schema_field(PolicySummarySerializer(allow_null=True))
    def get_policy(self, resource: Resource) -> dict[str, Any] | None:
        run = presenters.latest_plan(resource)
        return presenters.policy_summary(run) if run else None

    @extend_schema_field(ApprovalSerializer(many=True))
    def get_approvals(self, resource: Resource) -> list[dict[str, Any]]:
        approvals = resource.approvals.select_related("decided_by").order_by("-created_at")[:20]
        return list(ApprovalSerializer(approvals, many=True).data)


class ResourceCreateSerializer(StrictSerializer):
    """A request for a new resource, parsed only: the action resolves the slugs (your teams'
    objects only) and checks the name, version, environment, service and parameters."""

    template = serializers.CharField(max_length=200, help_text="Template slug")
    version = VersionField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="Version number or label (a source's tag, e.g. v1.1.0); empty = current",
    )
    team = serializers.CharField(max_length=200, help_text="Team slug")
    service = serializers.CharField(
        max_length=200, required=False, allow_null=True, allow_blank=True
    )
    environment = serializers.CharField(max_length=200, help_text="Environment slug")
    name = SlugRuleField(
        help_text="1-63 lowercase letters, digits and hyphens; starts and ends with a letter "
        "or digit",
    )
    parameters = JSONObjectField(required=False, default=dict)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class ParametersSerializer(WholeBody, StrictSerializer):
    """The body of PATCH: the parameters are required there too."""

    parameters = JSONObjectField(help_text="The new parameters (a full set)")


class DecisionSerializer(StrictSerializer):
    """A decision on the pending plan names, optionally, the plan run its author reviewed."""

    plan_run = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2**63 - 1,
        help_text="The plan run you reviewed; refused (409) when another plan awaits now",
    )


class ReasonSerializer(DecisionSerializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class RejectSerializer(DecisionSerializer):
    reason = serializers.CharField(max_length=2000, help_text="Why the plan is rejected")


class BreakGlassSerializer(DecisionSerializer):
    reason = serializers.CharField(
        max_length=2000, help_text="Why a platform admin approves alone; audited"
    )


class OverridePolicySerializer(DecisionSerializer):
    reason = serializers.CharField(
        max_length=2000, help_text="Why a platform admin lets the plan past its policies; audited"
    )


class UpgradeSerializer(StrictSerializer):
    version = VersionField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="Version number or label (a source's tag, e.g. v1.1.0); empty = current",
    )
