"""Who may read the API's OpenAPI schema and its docs page (IDP_API_SCHEMA_PUBLIC).

The schema lists every endpoint, parameter and error of the platform: a map for an
attacker, so production serves it only to signed-in users and API tokens unless told
otherwise; dev and test settings open it (the API contract tests read it anonymously).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.views import redirect_to_login
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from idp.conf import setting

from .permissions import TokenScopePermission


class SchemaReaders(BasePermission):
    """Anyone when IDP_API_SCHEMA_PUBLIC is on, else a signed-in user (session or token)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        return bool(setting("IDP_API_SCHEMA_PUBLIC") or request.user.is_authenticated)


READERS = [SchemaReaders, TokenScopePermission]


class SchemaView(SpectacularAPIView):
    """/api/schema/: the OpenAPI document, for SchemaReaders."""

    permission_classes = READERS

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        # An error is the API's JSON, whatever format (YAML, JSON) the schema was asked in.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response


class SchemaDocsView(SpectacularSwaggerView):
    """/api/docs/: the Swagger UI page; a stranger's browser is sent to sign in first."""

    permission_classes = READERS

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, exceptions.NotAuthenticated):
            return redirect_to_login(self.request.get_full_path())  # type: ignore[return-value]
        return super().handle_exception(exc)
