"""What every portal page shows of provisioning: the approvals badge in the navigation."""

from typing import Any

from django.http import HttpRequest

from .actions import inbox

# Set by the inbox page, which has counted already: the badge is not counted twice.
BADGE_KEY = "_idp_approvals_awaiting"


def approvals(request: HttpRequest) -> dict[str, Any]:
    # A callable: counted only when a page shows the navigation, once per request.
    return {
        "approvals_awaiting": lambda: approvals_awaiting(request),
        "approvals_badge_max": inbox.BADGE_MAX,
    }


def approvals_awaiting(request: HttpRequest) -> int:
    """How many plans await the signed-in user's decision (the navigation's badge), counted
    up to `inbox.BADGE_MAX` + 1."""
    cached = request.__dict__.get(BADGE_KEY)
    if cached is not None:
        return int(cached)
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return 0
    count = inbox.badge_count(user)
    request.__dict__[BADGE_KEY] = count
    return count
