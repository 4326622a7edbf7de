from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    """Rate limit per API token (or per user for sessions/JWT, per IP when anonymous).

    A fixed-window counter: one atomic increment per request (the first of a window also
    creates the counter), instead of DRF's list of every request time in the window, which
    is read, trimmed and written back whole on each request. A client may spend a window's
    allowance at the end of one window and again at the start of the next; that is the
    price of the counter, and the allowance is a guard, not a bill."""

    scope = "token"
    # Set by SimpleRateThrottle.__init__ from the rate ("1200/minute").
    num_requests: int
    duration: int

    def get_cache_key(self, request: Request, view: object) -> str:
        auth = request.auth
        if auth is not None and hasattr(auth, "key_hash"):
            ident = f"token:{auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        self.wait_seconds = (window + 1) * self.duration - now
        counter = f"{key}:{window}"
        try:
            count = self.cache.incr(counter)
        except ValueError:  # the window's first request
            # A little longer than the window, so the counter outlives its last increment.
            if self.cache.add(counter, 1, int(self.duration) + 1):
                count = 1
            else:  # another request created it meanwhile
                count = self.cache.incr(counter)
        if count is None:  # the cache is down (django-redis ignores it): no limit applied
            return True
        return bool(count <= self.num_requests)

    def wait(self) -> float | None:
        return getattr(self, "wait_seconds", None)
