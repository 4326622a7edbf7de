"""Policies API: every policy with its scope, enforcement, source and current version, and how
often it failed over the last 30 days for the caller's teams (read-only; files are the truth).

Routes: `GET /api/v1/policies/`, `GET /api/v1/policies/{slug}/` and
`POST /api/v1/policies/whatif/` (a draft replayed on the stored plans; platform admins),
included by idp/api/urls.py.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from idp.api.idempotency import idempotent
from idp.api.permissions import IsPlatformAdmin
from idp.api.views import error_responses

from .models import Policy, PolicyVersion
from .trends import WINDOW_DAYS, failure_counts, totals_by_policy, totals_by_team
from .whatif import MAX_DAYS, what_if


class ScopeSerializer(serializers.Serializer):
    """Slugs the policy is limited to; an empty list means every one."""

    environments = serializers.ListField(child=serializers.CharField(), read_only=True)
    templates = serializers.ListField(child=serializers.CharField(), read_only=True)
    teams = serializers.ListField(child=serializers.CharField(), read_only=True)


class PolicyVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = PolicyVersion
        fields = ["number", "content_hash", "enforcement", "changelog", "created_at"]
        read_only_fields = fields


class TeamFailuresSerializer(serializers.Serializer):
    team = serializers.CharField(help_text="Team slug")
    name = serializers.CharField()
    runs = serializers.IntegerField(help_text="Plan runs that failed the policy")


class PolicySerializer(serializers.ModelSerializer):
    scope = ScopeSerializer(source="*", read_only=True)
    version = serializers.IntegerField(
        source="current_version.number",
        allow_null=True,
        read_only=True,
        help_text="Current version; null when no version ever loaded",
    )
    changelog = serializers.CharField(
        source="current_version.changelog", allow_null=True, read_only=True
    )
    failures_30d = serializers.SerializerMethodField(
        help_text=f"Plan runs of your teams (every team for a platform admin) that failed this "
        f"policy in the last {WINDOW_DAYS} days"
    )

    class Meta:
        model = Policy
        fields = [
            "slug",
            "kind",
            "title",
            "description",
            "enforcement",
            "scope",
            "origin",
            "path",
            "version",
            "changelog",
            "sync_error",
            "failures_30d",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.INT)
    def get_failures_30d(self, policy: Policy) -> int:
        totals: dict[str, int] = self.context.get("failures", {})
        return totals.get(policy.slug, 0)


class PolicyDetailSerializer(PolicySerializer):
    # A field named like Field.source: DRF's metaclass takes it out of the class attributes.
    source = serializers.CharField(  # type: ignore[assignment]
        source="current_version.source",
        allow_null=True,
        read_only=True,
        help_text="The Rego text of the current version",
    )
    versions = PolicyVersionSerializer(many=True, read_only=True)
    failures_30d_by_team = serializers.SerializerMethodField()

    class Meta(PolicySerializer.Meta):
        fields = [*PolicySerializer.Meta.fields, "failures_30d_by_team", "source", "versions"]
        read_only_fields = fields

    @extend_schema_field(TeamFailuresSerializer(many=True))
    def get_failures_30d_by_team(self, policy: Policy) -> list[dict[str, Any]]:
        by_team: dict[str, dict[str, Any]] = self.context.get("failures_by_team", {})
        return list(by_team.get(policy.slug, {}).values())


@extend_schema_view(
    list=extend_schema(
        responses={200: PolicySerializer(many=True), **error_responses(400, 401)},
    ),
    retrieve=extend_schema(responses={200: PolicyDetailSerializer, **error_responses(401, 404)}),
)
class PolicyViewSet(viewsets.ReadOnlyModelViewSet):
    """The Rego policies every plan passes (removed ones are not listed).

    `failures_30d` counts only the plan runs of your teams; a platform admin's counts
    cover every team.
    """

    lookup_field = "slug"
    lookup_value_regex = "[A-Za-z0-9_-]+"
    filterset_fields = ["enforcement", "kind"]
    search_fields = ["slug", "title", "description"]
    ordering_fields = ["slug", "title", "enforcement"]
    ordering = ["slug"]

    def get_queryset(self) -> QuerySet[Policy]:
        qs = Policy.objects.filter(removed=False).select_related("current_version")
        if self.action == "retrieve":
            versions = PolicyVersion.objects.defer("source").order_by("-number")
            return qs.prefetch_related(Prefetch("versions", queryset=versions))
        return qs.defer("current_version__source")

    def get_serializer_class(self) -> Any:
        return PolicyDetailSerializer if self.action == "retrieve" else PolicySerializer

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if getattr(self, "swagger_fake_view", False):
            return context
        # One aggregate query over the caller's visible results serves every row.
        counts = failure_counts(self.request.user)
        context["failures"] = totals_by_policy(counts)
        context["failures_by_team"] = totals_by_team(counts)
        return context


class WhatIfDraftSerializer(serializers.Serializer):
    # A field named like Field.source: DRF's metaclass takes it out of the class attributes.
    source = serializers.CharField(  # type: ignore[assignment]
        trim_whitespace=False, help_text="The draft policy's Rego, with its # METADATA"
    )
    name = serializers.CharField(
        required=False,
        default="draft.rego",
        help_text="Its file name: a loaded policy's name replays it in that policy's place",
    )
    days = serializers.IntegerField(
        required=False, default=30, min_value=1, max_value=MAX_DAYS,
        help_text="Replay the plans of this many days (at most IDP_PLAN_RETENTION_DAYS)",
    )  # fmt: skip


class WhatIfSerializer(serializers.Serializer):
    """What the draft would have done to the stored plans."""

    policy = serializers.CharField()
    title = serializers.CharField()
    enforcement = serializers.CharField()
    scope = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    replaces = serializers.BooleanField(help_text="A policy of that name is in force today")
    days = serializers.IntegerField()
    plans = serializers.IntegerField(help_text="Stored plans in the draft's scope")
    newly_blocked = serializers.IntegerField()
    no_longer_blocked = serializers.IntegerField()
    newly_warned = serializers.IntegerField()
    failing = serializers.IntegerField()
    warning = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    kind = serializers.CharField(help_text='"deny/warn" or "approval" (an approval rule)')
    more_approvals = serializers.IntegerField(help_text="Approval rule: plans needing more")
    fewer_approvals = serializers.IntegerField()
    newly_auto_approved = serializers.IntegerField()
    no_longer_auto_approved = serializers.IntegerField()
    errors = serializers.IntegerField(  # type: ignore[assignment]  # a field, as above
        help_text="Plans the draft could not be evaluated on"
    )
    by_team = serializers.DictField(child=serializers.DictField(child=serializers.IntegerField()))
    by_template = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField())
    )
    by_day = serializers.ListField(child=serializers.DictField())
    changed = serializers.ListField(
        child=serializers.DictField(), help_text="The plans it changes (the first 200)"
    )
    seconds = serializers.FloatField()


class WhatIfView(APIView):
    """Replay a draft policy against the plans of the last days before enabling it: how
    many would newly be blocked, warned, or no longer blocked, by team and template, with
    the plans. Nothing is stored. A draft that does not compile is a 400 naming its line."""

    permission_classes = [IsPlatformAdmin]

    @idempotent
    @extend_schema(
        request=WhatIfDraftSerializer,
        responses={200: WhatIfSerializer, **error_responses(400, 401, 403)},
    )
    def post(self, request: Request) -> Response:
        from .engine import PolicyError

        serializer = WhatIfDraftSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            answer = what_if(data["source"], name=data["name"], days=data["days"])
        except PolicyError as error:
            raise serializers.ValidationError({"source": [str(error)]}) from None
        return Response(answer.as_json())


router = SimpleRouter()
router.register("policies", PolicyViewSet, basename="policy")
urlpatterns = [
    path("policies/whatif/", WhatIfView.as_view(), name="policy-whatif"),
    *router.urls,
]
