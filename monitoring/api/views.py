"""Monitoring API: costs, budgets, alerts, metrics and usage analytics, scoped by team RBAC."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from idp.api.fields import query_value
from idp.api.idempotency import idempotent
from idp.api.schema import int_param
from idp.api.views import error_responses, require_team_perm
from idp.services import Conflict, ServiceError

from ..models import Alert, Budget, CostRecord, MetricSample
from ..services import accuracy, budgets, costs
from ..services.analytics import parse_period, usage
from . import serializers as s
from .params import (
    date_param,
    datetime_param,
    id_param,
    month_param,
    team_param,
    visible_team,
)

GROUPS = ("day", "team", "service", "environment", "template")
TEAM_PARAM = OpenApiParameter("team", str, description="Slug of one of your teams")
# The months and days the platform keeps costs for (monitoring.api.params: 2000 to 2999).
MONTH_SCHEMA = {"type": "string", "pattern": r"^2[0-9]{3}-(0?[1-9]|1[0-2])$"}
DAY_SCHEMA = {"type": "string", "format": "date", "pattern": r"^2[0-9]{3}-"}
MONTH_PARAM = OpenApiParameter("period", MONTH_SCHEMA, description="YYYY-MM, 2000 to 2999")
PERIOD_PARAM = OpenApiParameter("period", int, enum=[7, 30, 90], description="Days")


class CostView(APIView):
    @extend_schema(
        parameters=[
            TEAM_PARAM,
            OpenApiParameter(
                "start", DAY_SCHEMA, description="Default: the first of the end's month"
            ),
            OpenApiParameter(
                "end",
                DAY_SCHEMA,
                description="Inclusive; default today. At most 366 days after start, and "
                "not before it",
            ),
            OpenApiParameter("month", MONTH_SCHEMA, description="YYYY-MM (instead of start/end)"),
            OpenApiParameter("group_by", str, enum=list(GROUPS)),
        ],
        responses={200: s.CostSummarySerializer, **error_responses(400, 401)},
    )
    def get(self, request: Request) -> Response:
        """Costs of your teams, summed per day, team, service, environment or template."""
        team = team_param(request)
        group_by = request.query_params.get("group_by", "day")
        if group_by not in GROUPS:
            raise ServiceError(f"Group by one of {', '.join(GROUPS)}.", field="group_by")
        today = timezone.now().date()
        month = month_param(request)
        # Read even when the month decides: a bad value is a 400 either way.
        given_end, given_start = date_param(request, "end"), date_param(request, "start")
        if month:
            start, next_first = costs.month_bounds(month)
            end = next_first - timedelta(days=1)
        else:
            end = given_end or today
            start = given_start or end.replace(day=1)
        if start > end or (end - start).days > 366:
            raise ServiceError("Give a start before the end, at most a year apart.", field="start")
        qs = CostRecord.objects.for_user(request.user).filter(date__gte=start, date__lte=end)
        if team is not None:
            qs = qs.filter(team=team)
        if group_by == "day":
            rows = [
                {"key": r["date"], "amount": r["amount"]} for r in costs.daily_costs(qs, start, end)
            ]
        elif group_by == "template":
            rows = [
                {"key": r["template"], "amount": r["amount"]} for r in costs.costs_by_template(qs)
            ]
        else:
            rows = [
                {"key": r[group_by], "amount": r["amount"]} for r in costs.costs_by(qs, group_by)
            ]
        total = qs.aggregate(t=Sum("amount"))["t"] or Decimal("0")
        data = {
            "team": team.slug if team else None,
            "start": start,
            "end": end,
            "group_by": group_by,
            "total": total.quantize(costs.CENT),
            "month_to_date": costs.month_to_date(team) if team else None,
            "forecast": costs.forecast_month(team) if team else None,
            "results": rows,
        }
        return Response(s.CostSummarySerializer(data).data)


class CostAccuracyView(APIView):
    @extend_schema(
        parameters=[
            TEAM_PARAM,
            OpenApiParameter("template", str, description="A template's slug"),
            int_param("months", "Months back, 1 to 36; default 12", maximum=36),
        ],
        responses={200: s.CostAccuracySerializer, **error_responses(400, 401)},
    )
    def get(self, request: Request) -> Response:
        """Estimates checked against actuals: the error per template (mean absolute
        percentage error), the resources more than the threshold off, and the error per
        template and month; your teams' resources only."""
        team = team_param(request)
        template = request.query_params.get("template") or None
        raw = query_value(request, "months") or "12"
        if not raw.isdigit() or not 1 <= int(raw) <= 36:
            raise ServiceError("Give a number of months from 1 to 36.", field="months")
        qs = accuracy.visible(request.user, team=team, template=template, months=int(raw))
        data = {
            "team": team.slug if team else None,
            "template": template,
            **accuracy.accuracy_report(qs),
        }
        return Response(s.CostAccuracySerializer(data).data)


@extend_schema_view(
    list=extend_schema(
        parameters=[TEAM_PARAM],
        responses={200: s.BudgetSerializer(many=True), **error_responses(400, 401)},
    ),
    retrieve=extend_schema(responses={200: s.BudgetSerializer, **error_responses(401, 404)}),
    create=extend_schema(
        request=s.BudgetCreateSerializer,
        responses={201: s.BudgetSerializer, **error_responses(400, 401, 403, 409)},
    ),
    update=extend_schema(
        request=s.BudgetWriteSerializer,
        responses={200: s.BudgetSerializer, **error_responses(400, 401, 403, 404)},
    ),
    partial_update=extend_schema(
        request=s.BudgetWriteSerializer,
        responses={200: s.BudgetSerializer, **error_responses(400, 401, 403, 404)},
    ),
    destroy=extend_schema(responses={204: None, **error_responses(401, 403, 404)}),
)
class BudgetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your teams' monthly budgets; team admins create, change and delete them."""

    serializer_class = s.BudgetSerializer
    filterset_fields: list[str] = []
    search_fields: list[str] = []
    ordering_fields = ["monthly_amount", "created_at"]

    def get_queryset(self) -> Any:
        qs = Budget.objects.for_user(self.request.user).select_related("team")
        if self.action == "list":
            team = team_param(self.request)
            if team is not None:
                qs = qs.filter(team=team)
        return qs

    @idempotent
    def create(self, request: Request) -> Response:
        body = s.BudgetCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        team = visible_team(request.user, data["team"])
        require_team_perm(request.user, team, "manage_team")
        if Budget.objects.filter(team=team).exists():
            raise Conflict(
                f"Team {team.slug} already has a budget; change it instead.", field="team"
            )
        budget = budgets.save_budget(
            team,
            monthly_amount=data["monthly_amount"],
            thresholds=data.get("thresholds"),
            actor=request.user,
        )
        return Response(s.BudgetSerializer(budget).data, status=status.HTTP_201_CREATED)

    @idempotent
    def update(self, request: Request, pk: Any = None, partial: bool = False) -> Response:
        budget = self.get_object()
        require_team_perm(request.user, budget.team, "manage_team")
        body = s.BudgetWriteSerializer(data=request.data, partial=partial)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        budget = budgets.save_budget(
            budget.team,
            monthly_amount=data.get("monthly_amount", budget.monthly_amount),
            thresholds=data.get("thresholds"),
            actor=request.user,
        )
        return Response(s.BudgetSerializer(budget).data)

    @idempotent
    def partial_update(self, request: Request, pk: Any = None) -> Response:
        return self.update(request, pk, partial=True)

    @idempotent
    def destroy(self, request: Request, pk: Any = None) -> Response:
        budget = self.get_object()
        require_team_perm(request.user, budget.team, "manage_team")
        budgets.delete_budget(budget, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    parameters=[TEAM_PARAM, MONTH_PARAM],
    responses={200: s.AlertSerializer(many=True), **error_responses(400, 401)},
)
class AlertList(generics.ListAPIView):
    """Budget alerts of your teams, newest first."""

    serializer_class = s.AlertSerializer
    filterset_fields: list[str] = []
    search_fields: list[str] = []
    ordering_fields = ["created_at"]

    def get_queryset(self) -> Any:
        qs = Alert.objects.for_user(self.request.user).select_related("team")
        team = team_param(self.request)
        if team is not None:
            qs = qs.filter(team=team)
        period = month_param(self.request, "period")
        if period:
            qs = qs.filter(period=period.strftime("%Y-%m"))
        return qs


@extend_schema(
    parameters=[
        TEAM_PARAM,
        int_param("resource"),
        OpenApiParameter("metric", str),
        OpenApiParameter("since", {**DAY_SCHEMA, "format": "date-time"}),
    ],
    responses={200: s.MetricSampleSerializer(many=True), **error_responses(400, 401, 404)},
)
class MetricList(generics.ListAPIView):
    """Stored CloudWatch samples of your teams' resources."""

    serializer_class = s.MetricSampleSerializer
    filterset_fields: list[str] = []
    search_fields: list[str] = []
    ordering_fields = ["timestamp"]

    def get_queryset(self) -> Any:
        from provisioning.models import Resource

        qs = MetricSample.objects.for_user(self.request.user).order_by("-timestamp")
        team = team_param(self.request)
        if team is not None:
            qs = qs.filter(resource__team=team)
        resource = id_param(self.request, "resource")
        if resource:
            qs = qs.filter(
                resource=get_object_or_404(
                    Resource.objects.for_user(self.request.user), pk=resource
                )
            )
        if self.request.query_params.get("metric"):
            qs = qs.filter(metric=self.request.query_params["metric"])
        since = datetime_param(self.request, "since")
        if since:
            qs = qs.filter(timestamp__gte=since)
        return qs


class AnalyticsView(APIView):
    @extend_schema(
        parameters=[TEAM_PARAM, PERIOD_PARAM],
        responses={200: OpenApiTypes.OBJECT, **error_responses(400, 401)},
    )
    def get(self, request: Request) -> Response:
        """Requests, lead time, approval wait, failure rate, drift and pipeline figures."""
        team = team_param(request)
        days = parse_period(request.query_params.get("period"))
        return Response(usage(request.user, teams=[team] if team else None, days=days))
