"""JWT sign-in for scripts: simplejwt's views with their error answers documented."""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from . import serializers as s
from .views import error_responses

# What simplejwt's serializers take, as the schema says it: they trim the values, so one that
# holds only spaces is "blank" (400). Python's \s also holds \x1c-\x1f, the schema's does not.
HOLDS_TEXT = r"[^\s\x1c-\x1f]"


@extend_schema_serializer(component_name="TokenObtainPair")
class CredentialsSerializer(serializers.Serializer):
    username = serializers.RegexField(HOLDS_TEXT, write_only=True)
    password = serializers.RegexField(HOLDS_TEXT, write_only=True)


@extend_schema_serializer(component_name="TokenRefresh")
class RefreshSerializer(serializers.Serializer):
    refresh = serializers.RegexField(HOLDS_TEXT, write_only=True)


@extend_schema_view(
    post=extend_schema(
        auth=[],
        request=CredentialsSerializer,
        responses={
            200: s.TokenPairSerializer,
            **error_responses(400),
            401: OpenApiResponse(s.ErrorSerializer, description="Wrong username or password"),
        },
    )
)
class TokenObtainView(TokenObtainPairView):
    """Trade a username and password for an access and a refresh JWT."""


@extend_schema_view(
    post=extend_schema(
        auth=[],
        request=RefreshSerializer,
        responses={
            200: s.TokenAccessSerializer,
            **error_responses(400),
            401: OpenApiResponse(s.ErrorSerializer, description="The refresh token is not valid"),
        },
    )
)
class TokenRefreshAccessView(TokenRefreshView):
    """Trade a refresh JWT for a fresh access JWT."""
