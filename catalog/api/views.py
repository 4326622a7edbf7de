"""Template registry API: templates and their versions (read-only); services are the software
catalog's (catalog/software/api/services.py)."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.generics import RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from idp.api.idempotency import idempotent
from idp.api.views import error_responses

from .. import sensitivity, services
from ..models import Template, TemplateVersion
from . import serializers as s
from .filters import TemplateFilter

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

    @idempotent
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
