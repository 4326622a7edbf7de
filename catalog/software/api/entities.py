"""Catalog entities over the API: import a catalog-info.yaml, and the catalog in Backstage's
entity format (`GET /api/v1/catalog/entities`), so Backstage or any tool reading it can
consume this catalog."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Q
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from idp.api.fields import StrictSerializer
from idp.api.idempotency import idempotent
from idp.api.views import error_responses

from ..services import entities
from ..services.entities.refs import KINDS
from ..services.entities.validation import MAX_CONTENT


class ImportRequestSerializer(StrictSerializer):
    content = serializers.CharField(
        max_length=MAX_CONTENT,
        trim_whitespace=False,
        help_text="The catalog-info.yaml text (one or more YAML documents)",
    )
    dry_run = serializers.BooleanField(default=False, help_text="Only say what would happen")


class DocumentErrorSerializer(serializers.Serializer):
    document = serializers.IntegerField(help_text="1-based index of the YAML document")
    ref = serializers.CharField(help_text="kind:namespace/name, when the document names one")
    field = serializers.CharField(help_text="Field path, e.g. spec.owner")
    message = serializers.CharField()


class ImportItemSerializer(serializers.Serializer):
    document = serializers.IntegerField()
    ref = serializers.CharField()
    action = serializers.ChoiceField(choices=["create", "change", "unchanged"])
    team = serializers.CharField(allow_null=True)
    service = serializers.CharField(allow_null=True)


class ProblemSerializer(serializers.Serializer):
    entity = serializers.CharField()
    code = serializers.CharField(help_text="unknown-owner, owner-mismatch, dangling-ref")
    ref = serializers.CharField()
    message = serializers.CharField()


class ImportReportSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    written = serializers.BooleanField()
    created = serializers.ListField(child=serializers.CharField())
    changed = serializers.ListField(child=serializers.CharField())
    unchanged = serializers.ListField(child=serializers.CharField())
    items = ImportItemSerializer(many=True)
    errors = DocumentErrorSerializer(many=True)  # type: ignore[assignment]
    refused = DocumentErrorSerializer(many=True)
    problems = ProblemSerializer(many=True)


class ImportErrorSerializer(serializers.Serializer):
    detail = serializers.JSONField(help_text='"document N, field" -> messages')
    report = ImportReportSerializer(required=False, help_text="When the YAML was read")


class RelationSerializer(serializers.Serializer):
    type = serializers.CharField()
    targetRef = serializers.CharField()  # noqa: N815 - Backstage's field name


# Named apart from a service's links (catalog.api.serializers): one component each.
@extend_schema_serializer(component_name="EntityLink")
class LinkSerializer(serializers.Serializer):
    url = serializers.CharField()
    title = serializers.CharField(required=False)
    icon = serializers.CharField(required=False)
    type = serializers.CharField(required=False)


class MetadataSerializer(serializers.Serializer):
    name = serializers.CharField()
    namespace = serializers.CharField()
    title = serializers.CharField(required=False)
    description = serializers.CharField(required=False)
    labels = serializers.DictField(child=serializers.CharField())
    annotations = serializers.DictField(child=serializers.CharField())
    tags = serializers.ListField(child=serializers.CharField())
    links = LinkSerializer(many=True)
    uid = serializers.CharField()
    etag = serializers.CharField()


class BackstageEntitySerializer(serializers.Serializer):
    """An entity exactly as Backstage's catalog API answers it."""

    apiVersion = serializers.CharField()  # noqa: N815 - Backstage's field name
    kind = serializers.ChoiceField(choices=sorted(KINDS.values()))
    metadata = MetadataSerializer()
    spec = serializers.DictField()
    relations = RelationSerializer(many=True)


class EntityImportView(APIView):
    @idempotent
    @extend_schema(
        request=ImportRequestSerializer,
        responses={
            200: ImportReportSerializer,
            201: ImportReportSerializer,
            400: ImportErrorSerializer,
            403: ImportErrorSerializer,
            **error_responses(401),
        },
    )
    def post(self, request: Request) -> Response:
        """Import a catalog-info.yaml (Backstage's descriptor format, multi-document).

        Maintainers import their team's entities, platform admins any. 200 with what was
        created, changed or unchanged (201 when something was created); 400 with errors per
        document and field; 403 naming the documents you may not write. Nothing is written
        on any error, nor with `dry_run`.
        """
        body = ImportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        report = entities.import_entities(
            body.validated_data["content"],
            actor=request.user,
            dry_run=body.validated_data["dry_run"],
        )
        data = report.as_json()
        if report.errors or report.refused:
            failed = report.errors or report.refused
            detail: dict[str, list[str]] = {}
            for error in failed:
                key = f"document {error.document}" + (f", {error.field}" if error.field else "")
                detail.setdefault(key, []).append(error.message)
            code = status.HTTP_400_BAD_REQUEST if report.errors else status.HTTP_403_FORBIDDEN
            return Response({"detail": detail, "report": data}, status=code)
        ok = status.HTTP_201_CREATED if report.created and report.written else status.HTTP_200_OK
        return Response(data, status=ok)


ENTITY_FILTERS = [
    OpenApiParameter(
        "kind",
        str,
        description="Component, API, System, Domain, Resource, Group or User (any case)",
    ),
    OpenApiParameter("namespace", str),
    OpenApiParameter(
        "owner", str, description="An owner reference; `payments` = group:default/payments"
    ),
    OpenApiParameter("tag", str),
    OpenApiParameter("lifecycle", str, description="spec.lifecycle, e.g. production"),
]


def _tag_filter(tag: str) -> Q:
    if connection.features.supports_json_field_contains:
        return Q(tags__contains=[tag])
    # Tags are Backstage words (no quotes), so the quoted word is exact in the JSON text.
    return Q(tags__icontains=f'"{tag}"')


class EntityListView(ListAPIView):
    """The catalog in Backstage's entity format, paged (`?page=`, `?page_size=`)."""

    serializer_class = BackstageEntitySerializer
    filter_backends: list[Any] = []

    @extend_schema(
        parameters=ENTITY_FILTERS,
        responses={200: BackstageEntitySerializer(many=True), **error_responses(400, 401)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        params = self.request.query_params
        qs = entities.visible_entities(self.request.user)
        if params.get("kind"):
            qs = qs.filter(kind=KINDS.get(params["kind"].lower(), "-"))
        if params.get("namespace"):
            qs = qs.filter(namespace=params["namespace"])
        if params.get("owner"):
            qs = qs.filter(entities.owner_filter(params["owner"]))
        if params.get("tag"):
            qs = qs.filter(_tag_filter(params["tag"]))
        if params.get("lifecycle"):
            qs = qs.filter(spec__lifecycle=params["lifecycle"])
        return entities.with_relations(qs.order_by("kind", "namespace", "name"), self.request.user)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([entities.entity_document(e) for e in page or []])


class EntityDetailView(APIView):
    @extend_schema(responses={200: BackstageEntitySerializer, **error_responses(401, 404)})
    def get(self, request: Request, kind: str, namespace: str, name: str) -> Response:
        """One entity by reference (`component/default/orders`), in Backstage's format."""
        entity = entities.get_entity(request.user, kind, namespace, name)
        if entity is None:
            raise Http404
        return Response(entities.entity_document(entity))
