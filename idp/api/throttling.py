from __future__ import annotations

import logging
from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

log = logging.getLogger(__name__)


class TokenRateThrottle(SimpleRateThrottle):
    """Rate limit per API token (or per user for sessions/JWT, per IP when anonymous)."""

    scope = "token"

    def allow_request(self, request: Request, view: Any) -> bool:
        """Requests pass while the shared cache that counts them is down (logged)."""
        try:
            return super().allow_request(request, view)
        except Exception:  # noqa: BLE001 - redis errors; a limit is not worth an outage
            log.warning("API rate limit not applied: the cache is unavailable", exc_info=True)
            return True

    def get_cache_key(self, request: Request, view: object) -> str:
        auth = request.auth
        if auth is not None and hasattr(auth, "key_hash"):
            ident = f"token:{auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
