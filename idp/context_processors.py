from typing import Any

from django.conf import settings
from django.http import HttpRequest

from .rbac import is_platform_admin


def platform(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {
        "is_platform_admin": bool(user and is_platform_admin(user)),
        "signup_open": bool(getattr(settings, "ACCOUNT_ALLOW_SIGNUP", False)),
    }
