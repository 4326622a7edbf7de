"""Cached dashboard aggregates: one version key per team, bumped when new data arrives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import cache

_T = TypeVar("_T")
TIMEOUT = 15 * 60
PLATFORM = "all"


def _version_key(team_key: str) -> str:
    return f"monitoring:v:{team_key}"


def version(team_key: str) -> int:
    return int(cache.get_or_set(_version_key(team_key), 1, None) or 1)


def bump(*team_keys: str) -> None:
    """Invalidate every cached aggregate of these teams (and the platform-wide ones)."""
    for key in {*team_keys, PLATFORM}:
        try:
            cache.incr(_version_key(key))
        except ValueError:
            cache.set(_version_key(key), 2, None)


def cached(team_key: str, name: str, compute: Callable[[], _T]) -> _T:
    """The aggregate `name` of a team, computed once per data version."""
    key = f"monitoring:{team_key}:{version(team_key)}:{version(PLATFORM)}:{name}"
    value: Any = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, TIMEOUT)
    return value
