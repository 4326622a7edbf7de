from typing import Any

from django.conf import settings
from django.http import HttpRequest

from .rbac import is_platform_admin


def platform(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {
        "is_platform_admin": bool(user and is_platform_admin(user)),
        "signup_open": bool(getattr(settings, "ACCOUNT_ALLOW_SIGNUP", False)),
        # A callable: counted only when a page shows the navigation, once per request.
        "approvals_awaiting": lambda: approvals_awaiting(request),
    }


def approvals_awaiting(request: HttpRequest) -> int:
    """How many plans await the signed-in user's decision (the navigation's badge)."""
    cached = request.__dict__.get("_idp_approvals_awaiting")
    if cached is not None:
        return int(cached)
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return 0
    from provisioning.actions import inbox_count  # the portal's apps load after this module

    count = inbox_count(user)
    request.__dict__["_idp_approvals_awaiting"] = count
    return count
