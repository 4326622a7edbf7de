"""API permissions: platform admins, and the scopes of API tokens.

Every API request made with a token needs one scope (two for break-glass and policy
overrides), decided here once for every endpoint: safe methods need `read`, other methods
`write`; deciding on a plan needs `approve` (write never implies it); platform-admin-only
endpoints need `admin`; SCIM needs `scim`. A view may name its own with `required_scopes`
(a scope, a tuple of scopes, or a dict action → scope(s)). Sessions and JWTs from a
password are people at the keyboard, not tokens: they have every scope.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission

from ..choices import TokenScope
from ..models import APIToken
from ..rbac import is_platform_admin

APPROVE, ADMIN = TokenScope.APPROVE.value, TokenScope.ADMIN.value

# Endpoints (URL names) whose call is a decision on a plan, and the scopes it needs.
DECISION_ROUTES: dict[str, tuple[str, ...]] = {
    "resource-approve": (APPROVE,),
    "resource-reject": (APPROVE,),
    # Break-glass and policy overrides are platform-admin powers on top of the decision.
    "resource-break-glass": (APPROVE, ADMIN),
    "resource-override-policy": (APPROVE, ADMIN),
}
# Endpoints only platform admins may call, by URL name and method.
ADMIN_ROUTES: set[tuple[str, str]] = {("team-list", "POST")}


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
    path = request.path
    if path.startswith("/scim/") or "/scim/" in path:
        return (TokenScope.SCIM.value,)
    match = getattr(request, "resolver_match", None)
    name = match.url_name if match is not None else None
    if name in DECISION_ROUTES:
        return DECISION_ROUTES[name]
    if (name, request.method) in ADMIN_ROUTES:
        return (ADMIN,)
    if request.method in SAFE_METHODS:
        return (TokenScope.READ.value,)
    return (TokenScope.WRITE.value,)


class TokenScopePermission(BasePermission):
    """403 naming the missing scope when an API token lacks the one this request needs."""

    message = "This token lacks the scope this request needs."

    def has_permission(self, request: Any, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, APIToken):
            return True
        scopes = set(token.scopes or ())
        for scope in required_scopes(request, view):
            if scope not in scopes:
                self.message = f"This token lacks the {scope!r} scope."
                return False
        return True
