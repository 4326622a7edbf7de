"""API: alarm events (history and acknowledge), team alert channels, and a resource's run
logs in CloudWatch."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from idp.api.fields import bool_query, choice_query, query_value
from idp.api.idempotency import idempotent
from idp.api.schema import MAX_ID, int_param
from idp.api.views import error_responses
from idp.services import ServiceError

from ..models import AlarmEvent, AlertChannel
from ..services import aws, cloudwatch_logs, sns
from . import serializers as s
from .params import team_param

STATES = ("ALARM", "OK", "INSUFFICIENT_DATA")


@extend_schema(
    parameters=[
        OpenApiParameter("team", str, description="Slug of one of your teams"),
        OpenApiParameter("state", str, enum=list(STATES)),
        OpenApiParameter("open", bool, description="Only those not acknowledged"),
    ],
    responses={200: s.AlarmEventSerializer(many=True), **error_responses(400, 401)},
)
class AlarmEventList(generics.ListAPIView):
    """Alarm state changes of your teams' resources (delivered by SNS), newest first."""

    serializer_class = s.AlarmEventSerializer
    filterset_fields: list[str] = []
    search_fields: list[str] = []
    ordering_fields = ["occurred_at"]

    def get_queryset(self) -> Any:
        qs = AlarmEvent.objects.for_user(self.request.user).select_related(
            "team", "acknowledged_by"
        )
        team = team_param(self.request)
        if team is not None:
            qs = qs.filter(team=team)
        state = choice_query(self.request, "state", STATES)
        if state:
            qs = qs.filter(new_state=state)
        if bool_query(self.request, "open"):
            qs = qs.filter(acknowledged_at=None)
        return qs


class AlarmEventAcknowledge(APIView):
    @idempotent
    @extend_schema(
        request=None,
        responses={200: s.AlarmEventSerializer, **error_responses(401, 403, 404, 409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        """Acknowledge an alarm event of one of your teams (409 when already done)."""
        event = get_object_or_404(AlarmEvent.objects.for_user(request.user), pk=pk)
        sns.acknowledge(event, actor=request.user)
        return Response(s.AlarmEventSerializer(event).data)


class ResourceCloudWatchLogs(APIView):
    @extend_schema(
        parameters=[
            int_param("run", "One run (default: the newest five)"),
            int_param("limit", "Events (default 1000)", maximum=10_000),
        ],
        responses={
            200: s.CloudWatchLogEventSerializer(many=True),
            **error_responses(400, 401, 404),
            503: OpenApiResponse(description="CloudWatch Logs did not answer"),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        """The resource's run logs as stored in CloudWatch Logs (shipped runs only)."""
        from provisioning.models import Resource

        resource = get_object_or_404(
            Resource.objects.for_user(request.user).select_related("team", "environment"), pk=pk
        )
        run_id = _int(request, "run", None)
        if run_id is not None and not 1 <= run_id <= MAX_ID:
            # Past the database's integer range the lookup itself failed (answered as a 503).
            raise ServiceError("Give a run id (a positive whole number).", field="run")
        limit = _int(request, "limit", 1000)
        if limit is None or not 1 <= limit <= 10_000:
            raise ServiceError("Give a limit between 1 and 10000.", field="limit")
        try:
            events = cloudwatch_logs.resource_log_events(resource, run_id=run_id, limit=limit)
        except Exception as exc:  # noqa: BLE001 - CloudWatch unreachable: say so, not a 500
            return Response(
                {"detail": f"CloudWatch Logs did not answer: {aws.error_text(exc)}"}, status=503
            )
        return Response(s.CloudWatchLogEventSerializer(events, many=True).data)


def _int(request: Request, name: str, default: int | None) -> int | None:
    raw = query_value(request, name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ServiceError("Give a whole number.", field=name) from None


@extend_schema_view(
    list=extend_schema(
        responses={200: s.AlertChannelSerializer(many=True), **error_responses(401)}
    ),
    create=extend_schema(
        responses={201: s.AlertChannelSerializer, **error_responses(400, 401, 403)}
    ),
    destroy=extend_schema(responses={204: None, **error_responses(401, 403, 404)}),
)
class AlertChannelViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Your teams' alert channels (e-mail, Slack-compatible webhook); team admins add and
    remove them, and each is subscribed to the team's SNS topics."""

    serializer_class = s.AlertChannelSerializer
    filterset_fields: list[str] = []
    search_fields: list[str] = []
    ordering_fields = ["created_at"]

    def get_queryset(self) -> Any:
        return AlertChannel.objects.for_user(self.request.user).select_related("team")

    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        channel = sns.add_channel(
            serializer.validated_data["team"],
            serializer.validated_data["kind"],
            serializer.validated_data["endpoint"],
            actor=request.user,
        )
        return Response(s.AlertChannelSerializer(channel).data, status=status.HTTP_201_CREATED)

    @idempotent
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().destroy(request, *args, **kwargs)

    def perform_destroy(self, instance: AlertChannel) -> None:
        sns.remove_channel(instance, actor=self.request.user)
