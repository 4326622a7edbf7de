from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication

from ..context import client_ip_var
from ..models import APIToken
from ..rbac import narrow_to_token
from ..scopes import ADMIN, token_allows
from ..services import authenticate_api_token


class BearerAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>`: a personal API token (idp_…) or a JWT."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid Authorization header."))
        raw = header[1].decode(errors="replace")
        if raw.startswith(APIToken.PREFIX):
            token = authenticate_api_token(raw, ip=client_ip_var.get())
            if token is None:
                raise exceptions.AuthenticationFailed(
                    _("Invalid or revoked API token (or it expired).")
                )
            # The token's team and scopes bound what its user may see and do in this request
            # (its scopes per endpoint: idp.api.permissions.TokenScopePermission).
            narrow_to_token(
                token.user,
                team_id=token.team_id,
                platform_admin=token_allows(token, ADMIN),
            )
            return token.user, token
        return JWTAuthentication().authenticate(request)

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "idp.api.authentication.BearerAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (idp_…) or a JWT from /api/v1/auth/token/",
        }
