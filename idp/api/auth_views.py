"""JWT sign-in for scripts: simplejwt's views with their error answers documented."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from . import serializers as s
from .views import error_responses


@extend_schema_view(
    post=extend_schema(
        auth=[],
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
        responses={
            200: s.TokenAccessSerializer,
            **error_responses(400),
            401: OpenApiResponse(s.ErrorSerializer, description="The refresh token is not valid"),
        },
    )
)
class TokenRefreshAccessView(TokenRefreshView):
    """Trade a refresh JWT for a fresh access JWT."""
