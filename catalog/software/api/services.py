"""Services API: CRUD with team RBAC (`/api/v1/services/`)."""

from __future__ import annotations

from typing import Any, cast

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.choices import Lifecycle, Tier
from catalog.models import Service
from idp.api.fields import SlugRuleField, StrictModelSerializer, StrictSerializer
from idp.api.idempotency import idempotent
from idp.api.views import error_responses
from idp.models import Team

from ..services import components


class LinkSerializer(StrictSerializer):
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    url = serializers.URLField()


class ServiceSerializer(StrictModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:service-detail", lookup_field="slug")
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all())
    links = LinkSerializer(many=True, required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    lifecycle = serializers.ChoiceField(choices=Lifecycle.choices, required=False)
    tier = serializers.ChoiceField(choices=Tier.choices, required=False)
    slug = SlugRuleField(required=False, help_text="Default: made from the name")

    class Meta:
        model = Service
        fields = [
            "id",
            "url",
            "slug",
            "name",
            "team",
            "description",
            "repository_url",
            "lifecycle",
            "tier",
            "links",
            "tags",
            "archived",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "archived", "created_at", "updated_at"]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            # A team you cannot see reads as unknown, never as forbidden.
            team_field = cast("serializers.SlugRelatedField[Team]", self.fields["team"])
            team_field.queryset = Team.objects.for_user(request.user)


class ServiceUpdateSerializer(ServiceSerializer):
    slug = SlugRuleField(read_only=True)  # names the service for good

    class Meta(ServiceSerializer.Meta):
        read_only_fields = ["id", "slug", "archived", "created_at", "updated_at"]


class ServiceFilter(django_filters.FilterSet):
    team = django_filters.CharFilter(field_name="team__slug")
    lifecycle = django_filters.ChoiceFilter(choices=Lifecycle.choices)
    archived = django_filters.BooleanFilter(field_name="archived")
    tier = django_filters.TypedChoiceFilter(choices=Tier.choices, coerce=int)

    class Meta:
        model = Service
        fields = ["team", "lifecycle", "archived", "tier"]


@extend_schema_view(
    list=extend_schema(responses={200: ServiceSerializer(many=True), **error_responses(400, 401)}),
    retrieve=extend_schema(responses={200: ServiceSerializer, **error_responses(401, 404)}),
    create=extend_schema(
        request=ServiceSerializer,
        responses={201: ServiceSerializer, **error_responses(400, 401, 403, 409)},
    ),
    update=extend_schema(
        request=ServiceUpdateSerializer,
        responses={200: ServiceSerializer, **error_responses(400, 401, 403, 404)},
    ),
    partial_update=extend_schema(
        request=ServiceUpdateSerializer,
        responses={200: ServiceSerializer, **error_responses(400, 401, 403, 404)},
    ),
    destroy=extend_schema(
        description="Archive the service (it is kept, hidden from lists and new requests).",
        responses={204: None, **error_responses(401, 403, 404)},
    ),
)
class ServiceViewSet(viewsets.ModelViewSet):
    """Services of your teams. Maintainers of the owning team (or platform admins) change them.

    Archived services are listed only with `?archived=true`.
    """

    lookup_field = "slug"
    lookup_value_regex = "[a-z0-9-]+"
    filterset_class = ServiceFilter
    search_fields = ["slug", "name", "description"]
    ordering_fields = ["slug", "name", "tier", "lifecycle", "created_at", "updated_at"]
    ordering = ["slug"]

    def get_queryset(self) -> Any:
        qs = Service.objects.for_user(self.request.user).select_related("team")
        if self.action == "list" and "archived" not in self.request.query_params:
            qs = qs.filter(archived=False)
        return qs

    def get_serializer_class(self) -> Any:
        if self.action in ("update", "partial_update"):
            return ServiceUpdateSerializer
        return ServiceSerializer

    def _respond(self, service: Service, code: int = status.HTTP_200_OK) -> Response:
        service = self.get_queryset().get(pk=service.pk)
        return Response(
            ServiceSerializer(service, context={"request": self.request}).data, status=code
        )

    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = ServiceSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        service = components.create_service(actor=request.user, **serializer.validated_data)
        return self._respond(service, status.HTTP_201_CREATED)

    @idempotent
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        service = self.get_object()
        serializer = ServiceUpdateSerializer(
            service,
            data=request.data,
            partial=kwargs.get("partial", False),
            context={"request": request},
        )
        serializer.is_valid(raise_exception=True)
        service = components.update_service(
            service, actor=request.user, **serializer.validated_data
        )
        return self._respond(service)

    @idempotent
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().partial_update(request, *args, **kwargs)

    @idempotent
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        components.archive_service(self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @idempotent
    @extend_schema(
        request=None, responses={200: ServiceSerializer, **error_responses(401, 403, 404)}
    )
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, slug: str | None = None) -> Response:
        """Archive the service."""
        return self._respond(components.archive_service(self.get_object(), actor=request.user))
