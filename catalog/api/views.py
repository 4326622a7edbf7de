"""Catalog API: templates (read-only) and services (CRUD with team RBAC)."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from idp.api.views import error_responses

from .. import sensitivity, services
from ..models import Service, Template, TemplateVersion
from . import serializers as s
from .filters import ServiceFilter, TemplateFilter

# List pages never load module files or READMEs.
HEAVY_VERSION_FIELDS = (
    "current_version__files",
    "current_version__readme",
    "current_version__parameters_schema",
    "current_version__outputs",
)


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("search", str, description="Search slug, title, description")],
        responses={200: s.TemplateSerializer(many=True), **error_responses(400, 401)},
    ),
    retrieve=extend_schema(
        responses={200: s.TemplateDetailSerializer, **error_responses(401, 404)}
    ),
)
class TemplateViewSet(viewsets.ReadOnlyModelViewSet):
    """The template catalog. Deprecated templates are listed only with `?deprecated=true`."""

    lookup_field = "slug"
    lookup_value_regex = "[a-z0-9-]+"
    filterset_class = TemplateFilter
    search_fields = ["slug", "title", "description", "category"]
    ordering_fields = ["slug", "title", "category", "updated_at"]

    def get_queryset(self) -> Any:
        qs = Template.objects.filter(current_version__isnull=False).select_related(
            "owner_team", "current_version"
        )
        if self.action == "list":
            if "deprecated" not in self.request.query_params:
                qs = qs.filter(deprecated=False)
            return qs.defer(*HEAVY_VERSION_FIELDS)
        return qs.defer("current_version__files")

    def get_serializer_class(self) -> Any:
        return s.TemplateDetailSerializer if self.action == "retrieve" else s.TemplateSerializer

    @extend_schema(
        request=s.ParametersCheckSerializer,
        responses={200: s.ParametersCheckSerializer, **error_responses(400, 401, 404)},
    )
    @action(detail=True, methods=["post"], url_path="validate")
    def validate_parameters(self, request: Request, slug: str | None = None) -> Response:
        """Check parameters against the schema (of `version`, else the current one).

        Answers them with defaults applied, or 400 with `parameters.<name>` errors.
        """
        template = self.get_object()
        body = s.ParametersCheckSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        version = services.resolve_version(template.slug, body.validated_data.get("version"))
        parameters = services.validate_parameters(version, body.validated_data["parameters"])
        return Response({"version": version.number, "parameters": _redact(version, parameters)})


def _redact(version: TemplateVersion, parameters: dict[str, Any]) -> dict[str, Any]:
    """Sensitive values never travel back out of the platform."""
    return sensitivity.masked(version, parameters)


class TemplateVersionView(RetrieveAPIView):
    """One version of a template, exactly as resources made from it were planned."""

    serializer_class = s.TemplateVersionSerializer

    @extend_schema(responses={200: s.TemplateVersionSerializer, **error_responses(401, 404)})
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_object(self) -> TemplateVersion:
        return get_object_or_404(
            TemplateVersion.objects.select_related("template"),
            template__slug=self.kwargs["slug"],
            number=self.kwargs["number"],
        )


@extend_schema_view(
    list=extend_schema(
        responses={200: s.ServiceSerializer(many=True), **error_responses(400, 401)}
    ),
    retrieve=extend_schema(responses={200: s.ServiceSerializer, **error_responses(401, 404)}),
    create=extend_schema(
        request=s.ServiceSerializer,
        responses={201: s.ServiceSerializer, **error_responses(400, 401, 403, 409)},
    ),
    update=extend_schema(
        request=s.ServiceUpdateSerializer,
        responses={200: s.ServiceSerializer, **error_responses(400, 401, 403, 404)},
    ),
    partial_update=extend_schema(
        request=s.ServiceUpdateSerializer,
        responses={200: s.ServiceSerializer, **error_responses(400, 401, 403, 404)},
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
            return s.ServiceUpdateSerializer
        return s.ServiceSerializer

    def _respond(self, service: Service, code: int = status.HTTP_200_OK) -> Response:
        service = self.get_queryset().get(pk=service.pk)
        return Response(
            s.ServiceSerializer(service, context={"request": self.request}).data, status=code
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = s.ServiceSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        service = services.create_service(actor=request.user, **serializer.validated_data)
        return self._respond(service, status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        service = self.get_object()
        serializer = s.ServiceUpdateSerializer(
            service,
            data=request.data,
            partial=kwargs.get("partial", False),
            context={"request": request},
        )
        serializer.is_valid(raise_exception=True)
        service = services.update_service(service, actor=request.user, **serializer.validated_data)
        return self._respond(service)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.archive_service(self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None, responses={200: s.ServiceSerializer, **error_responses(401, 403, 404)}
    )
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, slug: str | None = None) -> Response:
        """Archive the service."""
        return self._respond(services.archive_service(self.get_object(), actor=request.user))
