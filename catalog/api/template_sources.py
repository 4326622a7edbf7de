"""Template sources over the API (platform admins): register a Git repository whose tags are
template versions, see the versions found and the last sync's result, ask for a sync; and the
generic signed webhook that asks for syncs."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from idp.api.fields import StrictSerializer
from idp.api.idempotency import idempotent
from idp.api.permissions import IsPlatformAdmin
from idp.api.views import error_responses

from ..choices import SourceRefType, VersionStatus
from ..models import TemplateSource, TemplateVersion
from ..sensitivity import redact_credentials
from ..services import source_health, sources

log = logging.getLogger(__name__)
# The defaults (signed in, token scopes) and platform admins only.
ADMIN_ONLY: list[Any] = [*api_settings.DEFAULT_PERMISSION_CLASSES, IsPlatformAdmin]
MAX_WEBHOOK_BODY = 1024 * 1024

# What catalog.services.gitrepo.validate_target accepts, as the schema's pattern: a Git URL
# (https://host/path, ssh://host/path, user@host:path), file:// or an absolute path, or a
# GitHub login. ASCII names and no control characters, so Python and the schema's regex
# agree (Python's \s also holds \x1c-\x1f; \A and \Z, as `$` passes a trailing newline).
_NON_SPACE = r"[^\s\x1c-\x1f]"
GIT_URL_OR_PATH = (
    rf"(https|ssh)://[^/\s\x1c-\x1f]+/{_NON_SPACE}+"
    rf"|[A-Za-z0-9_.][A-Za-z0-9_.-]*@[A-Za-z0-9_.-]+:{_NON_SPACE}+"
    r"|file://[^\n\x00]*|/[^\n\x00]*"
)


class SourceVersionSerializer(serializers.ModelSerializer):
    template: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = TemplateVersion
        fields = [
            "template",
            "number",
            "label",
            "semver",
            "source_commit",
            "source_path",
            "signature_verified",
            "status",
            "status_reason",
            "created_at",
        ]
        read_only_fields = fields


class TemplateSourceSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="Credentials in URLs are hidden")
    signed = serializers.SerializerMethodField(help_text="Tags must be signed by its key")
    has_webhook_secret = serializers.SerializerMethodField()
    last_sync_result = serializers.JSONField(
        read_only=True, help_text="refs read, versions created, refused and failed tags, error"
    )
    health = serializers.SerializerMethodField(
        help_text="What the last sync found: healthy, failed or never synced"
    )
    last_sync_errors = serializers.SerializerMethodField(
        help_text="The errors of the last sync, one sentence each"
    )
    last_sync_skipped = serializers.SerializerMethodField(
        help_text="Tags the last sync did not read, and why, one sentence each"
    )

    class Meta:
        model = TemplateSource
        fields = [
            "id",
            "url",
            "ref_type",
            "ref_pattern",
            "paths",
            "signed",
            "has_webhook_secret",
            "enabled",
            "sync_state",
            "last_sync_at",
            "last_sync_result",
            "health",
            "last_sync_errors",
            "last_sync_skipped",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(
        serializers.ChoiceField(
            choices=[source_health.HEALTHY, source_health.FAILED, source_health.NEVER]
        )
    )
    def get_health(self, obj: TemplateSource) -> str:
        return source_health.health(obj).state

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_last_sync_errors(self, obj: TemplateSource) -> list[str]:
        return source_health.health(obj).errors

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_last_sync_skipped(self, obj: TemplateSource) -> list[str]:
        return source_health.health(obj).skipped

    def get_url(self, obj: TemplateSource) -> str:
        return redact_credentials(obj.url)

    def get_signed(self, obj: TemplateSource) -> bool:
        return bool(obj.signing_key)

    def get_has_webhook_secret(self, obj: TemplateSource) -> bool:
        return bool(obj.webhook_secret)


class TemplateSourceDetailSerializer(TemplateSourceSerializer):
    versions = serializers.SerializerMethodField()

    class Meta(TemplateSourceSerializer.Meta):
        fields = [*TemplateSourceSerializer.Meta.fields, "versions"]
        read_only_fields = fields

    @extend_schema_field(SourceVersionSerializer(many=True))
    def get_versions(self, obj: TemplateSource) -> list[dict[str, Any]]:
        versions = (
            TemplateVersion.objects.filter(source=obj)
            .select_related("template")
            .defer("files", "metadata", "parameters_schema", "readme", "changelog")
            .order_by("template__slug", "sort_key", "number")
        )
        return list(SourceVersionSerializer(versions, many=True).data)


class TemplateSourceCreateSerializer(StrictSerializer):
    url = serializers.RegexField(
        rf"\A({GIT_URL_OR_PATH})\Z",
        trim_whitespace=False,
        error_messages={"invalid": "A Git URL (https://, ssh://, user@host:path) or a path."},
        max_length=1000,
        help_text="A Git URL (https://, ssh://, git@host:path), file:// or path",
    )
    ref_pattern = serializers.CharField(
        max_length=200, required=False, default="v*", allow_blank=True
    )
    ref_type = serializers.ChoiceField(
        choices=SourceRefType.choices, required=False, default=SourceRefType.TAGS
    )
    paths = serializers.ListField(
        # catalog.services.sources.PATH_RE between optional slashes; "." and ".." parts are
        # refused by the service (no lookaround in the schema's pattern).
        child=serializers.RegexField(
            r"\A/*([A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*)?/*\Z",
            max_length=500,
            allow_blank=True,
            trim_whitespace=False,
            error_messages={"invalid": "A relative sub-path, e.g. templates/s3-bucket."},
        ),
        required=False,
        default=list,
        help_text="Sub-paths, one template each (empty: the repository's root)",
    )
    signing_key = serializers.CharField(required=False, default="", allow_blank=True)
    webhook_secret = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True, write_only=True
    )


class SyncQueuedSerializer(serializers.Serializer):
    status = serializers.CharField()
    source = TemplateSourceSerializer()  # type: ignore[assignment]


class TemplateSourceListView(ListAPIView):
    """Registered template sources (platform admins)."""

    serializer_class = TemplateSourceSerializer
    permission_classes = ADMIN_ONLY
    filter_backends: list[Any] = []
    queryset = TemplateSource.objects.order_by("pk")

    @extend_schema(
        responses={200: TemplateSourceSerializer(many=True), **error_responses(401, 403)}
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @idempotent
    @extend_schema(
        request=TemplateSourceCreateSerializer,
        responses={201: TemplateSourceSerializer, **error_responses(400, 401, 403, 409)},
    )
    def post(self, request: Request) -> Response:
        """Register a template source; its first sync is queued."""
        body = TemplateSourceCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        source = sources.register_source(
            request.user,
            data["url"],
            ref_pattern=data["ref_pattern"],
            ref_type=data["ref_type"],
            paths=data["paths"],
            signing_key=data["signing_key"],
            webhook_secret=data["webhook_secret"],
        )
        return Response(TemplateSourceSerializer(source).data, status=status.HTTP_201_CREATED)


def _get(pk: int) -> TemplateSource:
    source = TemplateSource.objects.filter(pk=pk).first()
    if source is None:
        raise Http404
    return source


class TemplateSourceDetailView(APIView):
    permission_classes = ADMIN_ONLY

    @extend_schema(
        responses={200: TemplateSourceDetailSerializer, **error_responses(401, 403, 404)}
    )
    def get(self, request: Request, pk: int) -> Response:
        """One source: the versions found and the last sync's result."""
        return Response(TemplateSourceDetailSerializer(_get(pk)).data)


class TemplateSourceSyncView(APIView):
    permission_classes = ADMIN_ONLY

    @idempotent
    @extend_schema(
        request=None, responses={202: SyncQueuedSerializer, **error_responses(401, 403, 404)}
    )
    def post(self, request: Request, pk: int) -> Response:
        """Queue a sync of the source now."""
        source = _get(pk)
        sources.request_sync(source)
        return Response(
            {"status": "queued", "source": TemplateSourceSerializer(source).data},
            status=status.HTTP_202_ACCEPTED,
        )


class VersionStatusSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=VersionStatus.choices)
    reason = serializers.CharField(required=False, default="", allow_blank=True, max_length=2000)


class VersionStatusView(APIView):
    permission_classes = ADMIN_ONLY

    @idempotent
    @extend_schema(
        request=VersionStatusSerializer,
        responses={200: SourceVersionSerializer, **error_responses(400, 401, 403, 404)},
    )
    def post(self, request: Request, slug: str, number: int) -> Response:
        """Deprecate (new requests warned), withdraw (new requests refused, resources on it
        flagged) or reactivate a template version (platform admins; audited)."""
        version = (
            TemplateVersion.objects.filter(template__slug=slug, number=number)
            .select_related("template")
            .first()
        )
        if version is None:
            raise Http404
        body = VersionStatusSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        version = sources.set_version_status(
            version,
            body.validated_data["status"],
            actor=request.user,
            reason=body.validated_data["reason"],
        )
        return Response(SourceVersionSerializer(version).data)


@csrf_exempt
@require_POST
def template_source_webhook(request: HttpRequest) -> JsonResponse:
    """POST /webhooks/template-sources/: `X-IDP-Signature-256: sha256=<HMAC-SHA256 of the
    body with a source's webhook secret>`; body `{"url": ..., "ref": ...}`. Each source whose
    secret signed it (and whose URL it names, if any) is synced. Nothing is read before a
    signature matches."""
    body = request.body
    if len(body) > MAX_WEBHOOK_BODY:
        return JsonResponse({"detail": "Payload too large."}, status=413)
    matched = sources.sources_for_signature(body, request.headers.get("X-IDP-Signature-256", ""))
    if not matched:
        log.warning("template source webhook with a bad or missing signature rejected")
        return JsonResponse({"detail": "Bad or missing signature."}, status=401)
    try:
        payload = json.loads(body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return JsonResponse({"detail": "Body is not JSON."}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"detail": "Body is not a JSON object."}, status=400)
    queued = sources.generic_push(matched, payload)
    return JsonResponse({"status": "ok", "queued": queued})
