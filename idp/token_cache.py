"""API tokens kept in the shared cache by their hash, so a request made with one does not
read the token, its user and its team from the database every time.

Only in a cache every web and worker process sees (Redis in production; never a process's
local memory, which another process could not invalidate). Whatever makes a token stop
being good drops it at the write and again when the write commits: a token saved or deleted
(revoked, expired early, cascaded away), its user saved (deactivated, SCIM), its service
account saved or deleted. A drop leaves a marker for `TTL` seconds, and a request fills the
cache only where there is none (`add`), so a request that read the row just before a revoke
committed cannot put the old token back after it. Expiry is checked on every request
(`APIToken.is_active`); an entry lives at most `TTL` seconds, which also bounds the harm of a
change made by a bulk `UPDATE` that no signal sees (those callers drop the tokens
themselves: `forget_tokens`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .models import APIToken

# As long as a token's "last used" note may lag (idp.services.authenticate_api_token).
TTL = 60
_DROPPED = "dropped"


def _cache() -> Any:
    from .rbac import shared_cache

    return shared_cache()


def _key(key_hash: str) -> str:
    return f"idp:api-token:{key_hash}"


def get(key_hash: str) -> APIToken | None:
    """The cached token (a fresh copy with its user, team and service account), or None."""
    cache = _cache()
    found = cache.get(_key(key_hash)) if cache is not None else None
    return found if isinstance(found, APIToken) else None


def add(token: APIToken) -> None:
    """Keep `token` (just read from the database, active) unless it was dropped lately."""
    cache = _cache()
    if cache is None:
        return
    ttl = TTL
    if token.expires_at is not None:
        ttl = min(ttl, int((token.expires_at - timezone.now()).total_seconds()))
    if ttl > 0:
        cache.add(_key(token.key_hash), token, ttl)


def _drop(key_hashes: list[str]) -> None:
    cache = _cache()
    if cache is not None and key_hashes:
        cache.set_many({_key(h): _DROPPED for h in key_hashes}, TTL)


def forget(key_hashes: Iterable[str]) -> None:
    """Drop these tokens now and again when the current transaction commits (a request that
    read them before the commit cannot cache them after)."""
    hashes = [h for h in key_hashes if h]
    if not hashes:
        return
    _drop(hashes)
    transaction.on_commit(lambda: _drop(hashes))


def forget_tokens(tokens: Any) -> None:
    """Drop the tokens of a queryset (call it before a bulk `update` or `delete` of them)."""
    forget(tokens.values_list("key_hash", flat=True))


def forget_user(user_id: int | None) -> None:
    """Drop every token of a user whose state a token depends on has changed."""
    if user_id is not None:
        # Revoked ones too: SCIM revokes in bulk (no signal) just before it saves the user.
        unexpired = Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        forget_tokens(APIToken.objects.filter(unexpired, user_id=user_id))


# --- signal receivers (connected in idp.signals) -----------------------------------------


def token_changed(sender: Any, instance: APIToken, **kwargs: Any) -> None:
    if not kwargs.get("created"):  # a new token is in no cache yet
        forget([instance.key_hash])


def user_changed(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    # A sign-in only notes its time: nothing a token depends on.
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    if kwargs.get("created"):
        return
    forget_user(instance.pk)


def service_account_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    forget_user(instance.user_id)
