"""How django-axes names the account behind a sign-in attempt."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

# allauth posts "login" (a username or an email); allauth's backend and the JWT
# endpoint pass "username" or "email" to authenticate().
FIELDS = ("login", "username", "email")


def username_from(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str | None:
    """The identifier tried, lower-cased so "Alice" and "alice" share one counter."""
    sources: list[Any] = [credentials or {}]
    if request is not None:
        sources.append(getattr(request, "data", None) or getattr(request, "POST", {}))
    for source in sources:
        for field in FIELDS:
            value = source.get(field) if hasattr(source, "get") else None
            if isinstance(value, str) and value.strip():
                return value.strip().lower()
    return None
