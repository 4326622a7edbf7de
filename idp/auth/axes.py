"""How django-axes names the account behind a sign-in attempt.

Lockout counts per account and, separately, per client address
(AXES_LOCKOUT_PARAMETERS = [["username"], ["ip_address"]]). The "username" axes counts
is the account the typed identifier reaches, so "alice", "ALICE" and alice's e-mail
address share one counter; an identifier that reaches no single account counts as itself.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest

# allauth posts "login" (a username or an email); allauth's backend and the JWT
# endpoint pass "username" or "email" to authenticate().
FIELDS = ("login", "username", "email")


def _typed_identifier(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str:
    sources: list[Any] = [credentials or {}]
    if request is not None:
        sources.append(getattr(request, "data", None) or getattr(request, "POST", {}))
    for source in sources:
        for field in FIELDS:
            value = source.get(field) if hasattr(source, "get") else None
            if isinstance(value, str) and value.strip():
                return value.strip()
    return ""


def _accounts(identifier: str) -> set[Any]:
    """Every account the identifier can sign in to: allauth matches usernames without
    regard to case, and e-mail addresses on the user or in its EmailAddress rows."""
    from allauth.account.models import EmailAddress

    User = get_user_model()
    username_field = User.USERNAME_FIELD
    found = set(
        User._default_manager.filter(**{f"{username_field}__iexact": identifier}).values_list(
            username_field, flat=True
        )
    )
    if "@" in identifier:
        found |= set(
            User._default_manager.filter(email__iexact=identifier).values_list(
                username_field, flat=True
            )
        )
        found |= set(
            EmailAddress.objects.filter(email__iexact=identifier).values_list(
                f"user__{username_field}", flat=True
            )
        )
    return found


def account_key(identifier: str) -> str:
    """The lockout key of what was typed: the one account it names, else itself (lower-cased).

    An address shared by several accounts counts as itself: each of those accounts keeps
    its own counter for its username, and the per-address lockout still applies.
    """
    accounts = _accounts(identifier)
    key = next(iter(accounts)) if len(accounts) == 1 else identifier
    return str(key).lower()


def username_from(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str | None:
    """AXES_USERNAME_CALLABLE: the account key of the identifier tried, or None."""
    identifier = _typed_identifier(request, credentials)
    if not identifier:
        return None
    # axes asks several times per attempt; resolve each identifier once per request.
    cache: dict[str, str] | None = None
    if request is not None:
        cache = request.__dict__.setdefault("_idp_axes_account_keys", {})
    if cache is not None and identifier in cache:
        return cache[identifier]
    key = account_key(identifier)
    if cache is not None:
        cache[identifier] = key
    return key
