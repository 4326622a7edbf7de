"""/api/v1/fleet-upgrades/: thin handlers over fleet.actions."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from idp.api.idempotency import idempotent
from idp.api.views import error_responses

from .. import actions
from ..models import FleetUpgrade
from ..presenters import detail_json, fleet_json
from . import serializers as s

DETAIL = OpenApiResponse(s.FleetDetailSerializer, description="The fleet upgrade")


@extend_schema_view(
    list=extend_schema(responses={200: s.FleetSerializer(many=True), **error_responses(401, 404)}),
    retrieve=extend_schema(responses={200: DETAIL, **error_responses(401, 404)}),
)
class FleetUpgradeViewSet(viewsets.GenericViewSet):
    """Fleet upgrades: many resources of one template moved to a version, in waves."""

    serializer_class = s.FleetSerializer

    def get_queryset(self) -> Any:
        return actions.visible(self.request.user)

    def get_object(self) -> FleetUpgrade:
        return actions.get_fleet(self.request.user, self.kwargs["pk"])

    def _detail(self, fleet: FleetUpgrade, code: int = status.HTTP_200_OK) -> Response:
        fresh = actions.get_fleet(self.request.user, fleet.pk)
        return Response(detail_json(fresh, user=self.request.user), status=code)

    def list(self, request: Request) -> Response:
        """The fleet upgrades you may see, newest first."""
        page = list(self.paginate_queryset(self.get_queryset()) or [])
        counts = actions.status_counts(page)
        rows = [fleet_json(f, user=request.user, counts=counts[f.pk]) for f in page]
        return self.get_paginated_response(rows)

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        """Progress, waves, the plan results grouped with their diffs, and every resource."""
        return self._detail(self.get_object())

    @idempotent
    @extend_schema(
        request=s.FleetStartSerializer,
        responses={201: DETAIL, **error_responses(400, 401, 403, 409)},
    )
    def create(self, request: Request) -> Response:
        """Start a fleet upgrade: plan every selected resource against the version (held),
        then apply wave by wave under each resource's approval rules."""
        serializer = s.FleetStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        fleet = actions.start_fleet_upgrade(
            actor=request.user,
            template=data["template"],
            version=data.get("version"),
            selection=dict(data.get("selection") or {"kind": "all"}),
            waves=data.get("waves"),
            percentages=data.get("percentages"),
            parallelism=data.get("parallelism"),
            failure_threshold=data.get("failure_threshold"),
            auto_apply=data.get("auto_apply", True),
        )
        return self._detail(fleet, status.HTTP_201_CREATED)

    @idempotent
    @extend_schema(
        request=s.ReasonSerializer,
        responses={200: DETAIL, **error_responses(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        """Stop starting plans and applies (what runs finishes)."""
        serializer = s.ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fleet = actions.pause(self.get_object(), actor=request.user, **serializer.validated_data)
        return self._detail(fleet)

    @idempotent
    @extend_schema(request=None, responses={200: DETAIL, **error_responses(401, 403, 404, 409)})
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        """Go on (a planned fleet upgrade starts its first wave)."""
        return self._detail(actions.resume(self.get_object(), actor=request.user))

    @idempotent
    @extend_schema(
        request=s.ReasonSerializer,
        responses={200: DETAIL, **error_responses(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Stop for good; held plans are discarded."""
        serializer = s.ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fleet = actions.cancel(self.get_object(), actor=request.user, **serializer.validated_data)
        return self._detail(fleet)
