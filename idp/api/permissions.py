from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from ..rbac import is_platform_admin


class IsPlatformAdmin(BasePermission):
    message = "Only platform admins may do this."

    def has_permission(self, request: Any, view: Any) -> bool:
        return is_platform_admin(request.user)
