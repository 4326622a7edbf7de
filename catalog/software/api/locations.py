"""Catalog locations over the API: register a Git repository or GitHub organisation whose
catalog-info.yaml files are discovered, list them, and ask for a scan."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api.template_sources import GIT_URL_OR_PATH
from catalog.choices import LocationType
from catalog.models import Location
from catalog.sensitivity import redact_credentials
from idp.api.fields import StrictSerializer
from idp.api.idempotency import idempotent
from idp.api.views import error_responses
from idp.models import Team
from idp.services import Forbidden

from ..services import discovery


class LocationSerializer(serializers.ModelSerializer):
    team: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    target = serializers.SerializerMethodField(help_text="Credentials in URLs are hidden")
    last_result = serializers.JSONField(
        read_only=True, help_text="counts, files with their created/changed refs and errors"
    )

    class Meta:
        model = Location
        fields = [
            "id",
            "type",
            "target",
            "ref",
            "team",
            "enabled",
            "last_scan_at",
            "last_result",
            "created_at",
        ]
        read_only_fields = fields

    def get_target(self, obj: Location) -> str:
        return redact_credentials(obj.target)


GITHUB_LOGIN = r"[A-Za-z0-9][A-Za-z0-9-]{0,38}"
TARGET_FORMS = "A GitHub login, a Git URL (https://, ssh://, user@host:path), file:// or /path."


class LocationCreateSerializer(StrictSerializer):
    type = serializers.ChoiceField(choices=LocationType.choices)
    target = serializers.RegexField(
        rf"\A({GIT_URL_OR_PATH}|{GITHUB_LOGIN})\Z",
        trim_whitespace=False,
        error_messages={"invalid": TARGET_FORMS},
        max_length=1000,
        help_text="GitHub organisation login, a Git URL (https://, ssh://, git@host:path), or"
        " for platform admins a local path / file:// URL",
    )
    # The service's rule, stated in the schema (a schema-valid ref is never a 400).
    ref = serializers.RegexField(
        r"\A((?!-)[\w./-]{1,200})?\Z",
        trim_whitespace=False,
        max_length=200,
        required=False,
        default="",
        allow_blank=True,
        error_messages={"invalid": "A branch or tag name."},
        help_text="A branch or tag (empty: the default branch)",
    )
    team = serializers.SlugField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The team whose entities it holds (empty: platform admins only)",
    )


class ScanQueuedSerializer(serializers.Serializer):
    status = serializers.CharField()
    location = LocationSerializer()


class LocationListView(ListAPIView):
    """Registered catalog locations you may see (your teams'; platform admins: all)."""

    serializer_class = LocationSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        return discovery.visible_locations(self.request.user).select_related("team").order_by("pk")

    @extend_schema(responses={200: LocationSerializer(many=True), **error_responses(401)})
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @idempotent
    @extend_schema(
        request=LocationCreateSerializer,
        responses={201: LocationSerializer, **error_responses(400, 401, 403, 409)},
    )
    def post(self, request: Request) -> Response:
        """Register a location (maintainers for their team, platform admins for any; local
        paths and file:// URLs only for platform admins). Its first scan is queued."""
        body = LocationCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        team = None
        if data["team"]:
            team = Team.objects.filter(slug=data["team"]).first()
            if team is None:
                return Response({"detail": {"team": ["No such team."]}}, status=400)
        location = discovery.register_location(
            request.user, data["type"], data["target"], ref=data["ref"], team=team
        )
        discovery.request_scan(location)
        return Response(LocationSerializer(location).data, status=status.HTTP_201_CREATED)


def _get(user: Any, pk: int) -> Location:
    location = discovery.visible_locations(user).select_related("team").filter(pk=pk).first()
    if location is None:
        raise Http404
    return location


class LocationDetailView(APIView):
    @extend_schema(responses={200: LocationSerializer, **error_responses(401, 404)})
    def get(self, request: Request, pk: int) -> Response:
        """One location with its last scan's result."""
        return Response(LocationSerializer(_get(request.user, pk)).data)


class LocationScanView(APIView):
    @idempotent
    @extend_schema(
        request=None,
        responses={202: ScanQueuedSerializer, **error_responses(401, 403, 404)},
    )
    def post(self, request: Request, pk: int) -> Response:
        """Queue a scan of the location now (its team's maintainers and platform admins)."""
        location = _get(request.user, pk)
        if not discovery.can_scan(request.user, location):
            raise Forbidden("Only maintainers of the location's team start scans.")
        discovery.request_scan(location)
        return Response(
            {"status": "queued", "location": LocationSerializer(location).data},
            status=status.HTTP_202_ACCEPTED,
        )
