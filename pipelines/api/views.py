"""/api/v1/pipelines/: list, create, retrieve, regenerate, preview, deliver, runs."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Service
from idp.api.idempotency import idempotent
from idp.api.views import error_responses

from .. import services
from ..choices import PipelineTemplate
from ..generation import options_schema
from ..models import Pipeline
from . import serializers as s


def _service(user: Any, slug: str) -> Service:
    """A service the user can see, else 400 on the field (never reveal others' services)."""
    service = Service.objects.for_user(user).select_related("team").filter(slug=slug).first()
    if service is None:
        raise services.ServiceError(f"No service {slug!r}.", field="service")
    return service


@extend_schema_view(
    list=extend_schema(responses={200: s.PipelineSerializer(many=True), **error_responses(401)}),
    retrieve=extend_schema(
        responses={200: s.PipelineDetailSerializer, **error_responses(401, 404)}
    ),
    create=extend_schema(
        request=s.PipelineCreateSerializer,
        responses={201: s.PipelineDetailSerializer, **error_responses(400, 401, 403, 409)},
    ),
    partial_update=extend_schema(
        request=s.PipelineUpdateSerializer,
        responses={200: s.PipelineDetailSerializer, **error_responses(400, 401, 403, 404, 409)},
    ),
)
class PipelineViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Pipelines of your teams' services: a generated workflow, its PR and its runs."""

    filterset_fields = ["template", "delivery_state"]
    search_fields = ["slug", "service__slug", "repository"]
    ordering_fields = ["created_at", "updated_at", "slug"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    queryset = Pipeline.objects.none()

    def get_queryset(self) -> Any:
        qs = Pipeline.objects.for_user(self.request.user).select_related(
            "service__team", "created_by"
        )
        service = self.request.query_params.get("service")
        return qs.filter(service__slug=service) if service else qs

    def get_serializer_class(self) -> Any:
        if self.action == "list":
            return s.PipelineSerializer
        return s.PipelineDetailSerializer

    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = s.PipelineCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        pipeline = services.create_pipeline(
            _service(request.user, v["service"]),
            template=v["template"],
            environments=v["environments"],
            options=v.get("options") or {},
            slug=v.get("slug") or "",
            actor=request.user,
            deliver=v.get("deliver", False),
        )
        pipeline.refresh_from_db()
        return Response(s.PipelineDetailSerializer(pipeline).data, status=status.HTTP_201_CREATED)

    @idempotent
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        pipeline = self.get_object()
        data = s.PipelineUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pipeline = services.regenerate_pipeline(
            pipeline,
            environments=data.validated_data.get("environments"),
            options=data.validated_data.get("options"),
            actor=request.user,
        )
        return Response(s.PipelineDetailSerializer(pipeline).data)

    @idempotent
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.partial_update(request, *args, **kwargs)

    @idempotent
    @extend_schema(
        request=s.PreviewInputSerializer,
        responses={200: s.PreviewSerializer, **error_responses(400, 401)},
    )
    @action(detail=False, methods=["post"])
    def preview(self, request: Request) -> Response:
        """Generate and check a workflow; nothing is stored. `findings` is empty when it passes."""
        data = s.PreviewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        result = services.preview(
            _service(request.user, v["service"]),
            v["template"],
            v["environments"],
            v.get("options") or {},
        )
        return Response(
            {"yaml": result.yaml, "findings": result.findings, "warnings": result.warnings}
        )

    @idempotent
    @extend_schema(
        request=None,
        responses={202: s.PipelineSerializer, **error_responses(401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def deliver(self, request: Request, pk: str | None = None) -> Response:
        """Queue delivery as a pull request (maintainers); 409 while checks report findings."""
        pipeline = services.request_delivery(self.get_object(), actor=request.user)
        return Response(s.PipelineSerializer(pipeline).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        parameters=[
            OpenApiParameter("environment", str, description="Only runs in this environment")
        ],
        responses={200: s.PipelineRunSerializer(many=True), **error_responses(401, 404)},
    )
    # The pipeline list's filters and ordering do not apply to its runs.
    @action(detail=True, methods=["get"], filter_backends=[])
    def runs(self, request: Request, pk: str | None = None) -> Response:
        """The pipeline's runs, newest first; `?environment=dev` narrows to one environment."""
        pipeline = self.get_object()
        qs = pipeline.runs.all()
        env = request.query_params.get("environment")
        if env is not None:
            qs = qs.filter(environment=env)
        page = self.paginate_queryset(qs)
        if page is not None:
            return self.get_paginated_response(s.PipelineRunSerializer(page, many=True).data)
        return Response(s.PipelineRunSerializer(qs, many=True).data)

    def get_object(self) -> Pipeline:
        # DRF's get_object_or_404: a non-numeric id is no pipeline (404), not a failed query (500).
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])


class PipelineTemplateList(APIView):
    """Pipeline templates with the JSON Schema of their options."""

    @extend_schema(responses={200: s.PipelineTemplateSerializer(many=True), **error_responses(401)})
    def get(self, request: Request) -> Response:
        return Response(
            [
                {"slug": value, "title": str(label), "options_schema": options_schema(value)}
                for value, label in PipelineTemplate.choices
            ]
        )
