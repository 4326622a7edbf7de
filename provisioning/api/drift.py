"""/api/v1/resources/{id}/reconcile/ and /accept-drift/: the two ways out of drift."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from idp.api.idempotency import idempotent
from idp.api.views import error_responses

from ..access import resource_queryset
from ..actions import drift
from ..models import Resource
from . import serializers as s

PLAN_QUEUED = OpenApiResponse(s.RunSerializer, description="The plan queued for it")


def _resource(request: Request, pk: int) -> Resource:
    # Another team's resource answers 404, like one that does not exist.
    return get_object_or_404(resource_queryset(request.user), pk=pk)


class ReconcileView(APIView):
    @idempotent
    @extend_schema(
        operation_id="resources_reconcile",
        request=None,
        responses={202: PLAN_QUEUED, **error_responses(401, 403, 404, 409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        """Reconcile a drifted resource: a plan back to its declared configuration, applied
        after approval where the environment needs it (whoever asks counts as an author of
        the change, so another person approves). 409 when it has no drift or is busy."""
        started = drift.reconcile(_resource(request, pk), actor=request.user)
        return Response(s.RunSerializer(started.run).data, status=status.HTTP_202_ACCEPTED)


class AcceptDriftView(APIView):
    @idempotent
    @extend_schema(
        operation_id="resources_accept_drift",
        request=None,
        responses={202: PLAN_QUEUED, **error_responses(401, 403, 404, 409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        """Accept a drifted resource's real values as intended: a `-refresh-only` plan,
        applied after approval where the environment needs it; audited as
        `resource.drift_accept_requested` and `resource.drift_accepted`."""
        started = drift.accept_drift(_resource(request, pk), actor=request.user)
        return Response(s.RunSerializer(started.run).data, status=status.HTTP_202_ACCEPTED)


urlpatterns: list[Any] = [
    path("resources/<int:pk>/reconcile/", ReconcileView.as_view(), name="resource-reconcile"),
    path(
        "resources/<int:pk>/accept-drift/", AcceptDriftView.as_view(), name="resource-accept-drift"
    ),
]
