"""Scorecards API: each visible service's level and rule results, scored now, with the trend
of its stored daily results."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.choices import ScoreLevel
from catalog.models import Service
from idp.api.views import error_responses

from ..services import scorecards

TREND_DAYS = 90


class RuleResultSerializer(serializers.Serializer):
    rule = serializers.CharField(help_text="The rule's slug")
    title = serializers.CharField()
    level = serializers.ChoiceField(choices=ScoreLevel.choices)
    passed = serializers.BooleanField()
    detail = serializers.CharField()
    fix_hint = serializers.CharField(allow_blank=True)
    fix_url = serializers.CharField(allow_blank=True, help_text="Portal page that fixes it")


class TrendPointSerializer(serializers.Serializer):
    day = serializers.DateField()
    level = serializers.ChoiceField(choices=ScoreLevel.choices)
    passed = serializers.IntegerField()
    total = serializers.IntegerField()


class ScorecardSerializer(serializers.Serializer):
    service = serializers.CharField(help_text="The service's slug")
    name = serializers.CharField()
    team = serializers.CharField(help_text="The owning team's slug")
    level = serializers.ChoiceField(choices=ScoreLevel.choices)
    passed = serializers.IntegerField()
    total = serializers.IntegerField()
    failing = serializers.ListField(child=serializers.CharField(), help_text="Failing rule slugs")


class ScorecardDetailSerializer(ScorecardSerializer):
    rules = RuleResultSerializer(many=True)
    trend = TrendPointSerializer(
        many=True, help_text=f"Stored daily scores, last {TREND_DAYS} days"
    )


def _summary(score: scorecards.ServiceScore) -> dict[str, Any]:
    return {
        "service": score.service.slug,
        "name": score.service.name,
        "team": score.service.team.slug,
        "level": score.level,
        "passed": score.passed,
        "total": score.total,
        "failing": [r.rule for r in score.failing],
    }


class ScorecardList(GenericAPIView):
    """Scorecards of the services you can see (archived services are not scored)."""

    serializer_class = ScorecardSerializer
    filter_backends: list[Any] = []

    @extend_schema(
        parameters=[
            OpenApiParameter("team", str, description="Team slug"),
            OpenApiParameter("level", str, enum=list(ScoreLevel.values)),
        ],
        responses={200: ScorecardSerializer(many=True), **error_responses(400, 401)},
    )
    def get(self, request: Request) -> Response:
        services = Service.objects.for_user(request.user).filter(archived=False)
        team = request.query_params.get("team", "").strip()
        level = request.query_params.get("level", "").strip()
        if level and level not in ScoreLevel.values:
            raise ValidationError({"level": [f"Choose one of {', '.join(ScoreLevel.values)}."]})
        if team:
            services = services.filter(team__slug=team)
        scores = scorecards.score_services(services.select_related("team").order_by("slug"))
        if level:
            scores = [s for s in scores if s.level == level]
        page: list[scorecards.ServiceScore] | None = self.paginate_queryset(
            scores  # type: ignore[arg-type]
        )
        return self.get_paginated_response([_summary(s) for s in page or []])


class ScorecardDetail(GenericAPIView):
    """One service's scorecard: every rule's result with how to fix it, and the trend."""

    serializer_class = ScorecardDetailSerializer
    filter_backends: list[Any] = []

    @extend_schema(responses={200: ScorecardDetailSerializer, **error_responses(401, 404)})
    def get(self, request: Request, slug: str) -> Response:
        service = get_object_or_404(
            Service.objects.for_user(request.user).select_related("team"), slug=slug
        )
        score = scorecards.evaluate_service(service)
        return Response(
            {
                **_summary(score),
                "rules": [r.as_dict() for r in score.results],
                "trend": scorecards.service_trend(service, TREND_DAYS),
            }
        )
