"""The per-token rate limit as a fixed-window counter in the shared cache (Redis, as in
production): the allowance per window, a fresh one in the next window, and a cache outage
that limits nothing rather than failing requests."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from rest_framework.settings import api_settings

from idp.api.throttling import TokenRateThrottle
from tests.utils import assert_ok

ME = "/api/v1/me/"


@pytest.fixture
def three_a_minute(settings: Any, monkeypatch: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "3/minute"},
    }
    # DRF reads the rates once at import; take them again from the overridden settings.
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", api_settings.DEFAULT_THROTTLE_RATES)


@pytest.fixture
def redis_cache(settings: Any) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/9",
            "KEY_PREFIX": f"throttle-test-{uuid.uuid4().hex}",
            "TIMEOUT": 120,
            "OPTIONS": {"IGNORE_EXCEPTIONS": True},
        }
    }
    from django.core.cache import cache

    try:
        cache.get("ping")
        cache.set("ping", 1)
        reachable = cache.get("ping") == 1
    except Exception:  # noqa: BLE001 - no Redis here: skipped below
        reachable = False
    if not reachable:
        pytest.skip("needs Redis on 127.0.0.1:6379")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_allowance_is_per_window_and_renews_with_the_next(
    redis_cache: None, three_a_minute: None, api_as: Any, alice: Any, monkeypatch: Any
) -> None:
    clock = Clock(1_000_000 * 60 + 10.0)  # ten seconds into a minute
    monkeypatch.setattr(TokenRateThrottle, "timer", clock)
    client = api_as(alice)
    for _ in range(3):
        assert_ok(client.get(ME))
    limited = client.get(ME)
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) == 50  # until the window ends
    clock.now += 49
    assert client.get(ME).status_code == 429
    clock.now += 1  # the next minute
    for _ in range(3):
        assert_ok(client.get(ME))
    assert client.get(ME).status_code == 429
    # Another token of the same user has its own allowance.
    assert_ok(api_as(alice).get(ME))


def test_a_cache_outage_limits_nothing(
    settings: Any, three_a_minute: None, api_as: Any, alice: Any
) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"IGNORE_EXCEPTIONS": True},  # as config/settings/base.py configures it
        }
    }
    client = api_as(alice)
    for _ in range(5):
        assert_ok(client.get(ME))
