from __future__ import annotations

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    """Rate limit per API token (or per user for sessions/JWT, per IP when anonymous)."""

    scope = "token"

    def get_cache_key(self, request: Request, view: object) -> str:
        auth = request.auth
        if auth is not None and hasattr(auth, "key_hash"):
            ident = f"token:{auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
