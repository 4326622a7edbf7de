"""API permissions: platform admins, and the scopes of API tokens.

Every API request made with a token needs one scope (two for break-glass and policy
overrides); which ones, and whether the token has them, is the scope rule's answer
(`idp.scopes.needed_for_request`, `idp.scopes.missing_scope`). A view may name its own with
`required_scopes` (a scope, a tuple of scopes, or a dict action → scope(s)). Sessions and
JWTs from a password are people at the keyboard, not tokens: they have every scope.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from .. import scopes
from ..models import APIToken
from ..rbac import is_platform_admin


class IsPlatformAdmin(BasePermission):
    message = "Only platform admins may do this."

    def has_permission(self, request: Any, view: Any) -> bool:
        return is_platform_admin(request.user)


def _declared(view: Any) -> tuple[str, ...] | None:
    declared = getattr(view, "required_scopes", None)
    if isinstance(declared, dict):
        declared = declared.get(getattr(view, "action", None))
    if declared is None:
        return None
    return (declared,) if isinstance(declared, str) else tuple(declared)


def required_scopes(request: Any, view: Any) -> tuple[str, ...]:
    """The scopes a token needs for this request."""
    declared = _declared(view)
    if declared is not None:
        return declared
    match = getattr(request, "resolver_match", None)
    route = match.url_name if match is not None else None
    return scopes.needed_for_request(request.method, route, request.path)


class TokenScopePermission(BasePermission):
    """403 naming the missing scope when an API token lacks the one this request needs."""

    message = "This token lacks the scope this request needs."

    def has_permission(self, request: Any, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, APIToken):
            return True
        missing = scopes.missing_scope(token, required_scopes(request, view))
        if missing is not None:
            self.message = f"This token lacks the {missing!r} scope."
            return False
        return True
