"""/api/v1/approvals/: the plans awaiting the caller's decision (the approvals inbox).

An item's id is its plan run's id: an item is one plan, and a decision names that plan
(`POST /api/v1/resources/{resource.id}/approve/` with `plan_run`), so it never lands on a
newer plan of the resource. A plan the caller may not decide on (another team's, their own
request, an older plan of the resource) answers 404.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from idp.api.views import error_responses

from .. import actions
from ..actions import inbox
from .serializers import PlanCostSerializer


class _ResourceRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class _PlanCountsSerializer(serializers.Serializer):
    add = serializers.IntegerField()
    change = serializers.IntegerField()
    destroy = serializers.IntegerField()


class _BudgetEffectSerializer(serializers.Serializer):
    current_monthly_cost = serializers.CharField(
        allow_null=True,
        help_text="USD/month of what is applied now (from its plan's estimate); 0.00 for a "
        "new resource, null when unknown",
    )
    monthly_cost_change = serializers.CharField(
        allow_null=True, help_text="USD/month this plan adds (negative: saves); null if unknown"
    )
    needs_platform_admin = serializers.BooleanField(
        help_text="Whether one approver must be a platform admin (e.g. over the team's budget)"
    )
    reasons = serializers.ListField(
        child=serializers.CharField(), help_text="Why the plan needs approval, per the policy"
    )


class _ApprovalsSerializer(serializers.Serializer):
    needed = serializers.IntegerField(help_text="Distinct approvals the plan needs")
    given = serializers.IntegerField(help_text="Valid approvals of this plan so far")
    approved_by = serializers.ListField(child=serializers.CharField())
    role = serializers.CharField(
        help_text='"admin" when one approver must be an admin of the team (an approval '
        "rule asked for it), else empty"
    )
    summary = serializers.CharField(help_text='What it needs in words: "2 approvals, one an admin"')
    reasons = serializers.ListField(
        child=serializers.CharField(),
        help_text="Why it needs them: the environment's rule, the template, the budget and "
        "each approval rule",
    )
    risk = serializers.IntegerField(help_text="The inbox's order: riskiest first")


class _PolicyStatusSerializer(serializers.Serializer):
    passed = serializers.IntegerField()
    warnings = serializers.IntegerField()
    failures = serializers.IntegerField(help_text="Advisory or overridden failures")
    overridden = serializers.BooleanField(help_text="A platform admin overrode a failure")


class ApprovalItemSerializer(serializers.Serializer):
    """A plan awaiting the caller's decision."""

    id = serializers.IntegerField(help_text="The plan run's id (the item's id)")
    plan_run = serializers.IntegerField(
        help_text="The plan run to name when deciding (`plan_run` of approve/reject)"
    )
    resource = _ResourceRefSerializer()
    team = serializers.CharField()
    environment = serializers.CharField()
    template = serializers.CharField()
    version = serializers.IntegerField(help_text="The template version the plan applies")
    version_label = serializers.CharField(help_text="That version's name (`1.1.0`, `v3`)")
    current_version = serializers.IntegerField(
        allow_null=True, help_text="The version applied now; null for a new resource"
    )
    current_version_label = serializers.CharField(
        allow_null=True, help_text="That version's name; null for a new resource"
    )
    change = serializers.ChoiceField(choices=["create", "change", "upgrade", "destroy"])
    requested_by = serializers.CharField(
        allow_null=True, help_text="Who asked for this plan (the requester of a new resource)"
    )
    plan_counts = _PlanCountsSerializer()
    changed_parameters = serializers.ListField(
        child=serializers.CharField(),
        help_text="Names of the parameters whose value changes (all of them for a new "
        "resource); values are in the plan run's `changes`",
    )
    estimated_monthly_cost = serializers.CharField(
        allow_null=True,
        help_text="USD/month once applied: the plan's priced cost (the template's cost "
        "hints where the price catalog cannot price it)",
    )
    cost = PlanCostSerializer(
        allow_null=True, help_text="The plan's cost priced from its changes, line by line"
    )
    budget_effect = _BudgetEffectSerializer()
    policy = _PolicyStatusSerializer(help_text="The policies' results on the plan")
    approvals = _ApprovalsSerializer()
    plan_created_at = serializers.DateTimeField()
    planned_at = serializers.DateTimeField(
        allow_null=True, help_text="When the plan finished (its age)"
    )
    approval_closes_at = serializers.DateTimeField(
        allow_null=True, help_text="After this the plan can no longer be approved"
    )


PLAN_RUN_ID = OpenApiParameter(
    "id", int, OpenApiParameter.PATH, description="The plan run's id (an item's `id`)"
)


@extend_schema_view(
    list=extend_schema(
        responses={200: ApprovalItemSerializer(many=True), **error_responses(401, 404)},
    ),
    retrieve=extend_schema(
        parameters=[PLAN_RUN_ID],
        responses={200: ApprovalItemSerializer, **error_responses(401, 404)},
    ),
)
class ApprovalViewSet(viewsets.GenericViewSet):
    """Plans awaiting your decision, per the approval policy: your teams' plans you may
    approve (never your own), riskiest first, then the window closing soonest."""

    serializer_class = ApprovalItemSerializer
    filter_backends: list[Any] = []
    lookup_value_regex = r"[0-9]+"

    def list(self, request: Request) -> Response:
        """Plans awaiting your decision (paginated)."""
        ids = inbox.awaiting_ids(request.user)
        # The paginator counts and slices the policy's query: one page of ids, then its plans.
        page = self.paginate_queryset(ids)
        items = inbox.describe(inbox.pending_of(page if page is not None else ids))
        data = ApprovalItemSerializer([i.as_json() for i in items], many=True).data
        return self.get_paginated_response(data)

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        """One plan awaiting your decision; 404 when it does not await you."""
        try:
            plan_run = int(pk or "")
        except ValueError:
            raise Http404 from None
        found = actions.inbox_item(request.user, plan_run) if plan_run < 2**63 else None
        if found is None:
            raise Http404
        return Response(ApprovalItemSerializer(found.as_json()).data)
