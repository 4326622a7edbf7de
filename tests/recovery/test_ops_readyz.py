"""`/readyz` is cheap for load balancers: a process reuses its answer for a moment (no
checks run on the second call), checks run side by side within their timeout, and a 503
names the part that fails. (Timings: benchmarks, not tests.)"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from idp.ops import checks


@pytest.fixture
def calls(settings: Any, monkeypatch: Any) -> Iterator[Counter[str]]:
    """Every check replaced by one that counts its calls and answers ok."""
    counted: Counter[str] = Counter()

    def counting(name: str) -> Callable[[], str]:
        def check() -> str:
            counted[name] += 1
            return "fine"

        return check

    monkeypatch.setattr(checks, "CHECKS", {name: counting(name) for name in checks.CHECKS})
    settings.IDP_READINESS_REQUIRED = ["database", "broker"]
    settings.IDP_READINESS_CACHE_SECONDS = 3600  # the window never closes within the test
    checks.forget()
    yield counted
    checks.forget()


def test_a_second_call_within_the_window_runs_no_checks(calls: Counter[str]) -> None:
    first = Client().get("/readyz")
    assert first.status_code == 200 and first.json()["status"] == "ok"
    assert calls == {"database": 1, "broker": 1, "workers": 1, "state_bucket": 1}
    second = Client().get("/readyz")
    assert second.json() == first.json()
    assert calls == {"database": 1, "broker": 1, "workers": 1, "state_bucket": 1}
    checks.forget()
    Client().get("/readyz")
    assert calls["broker"] == 2


def test_a_failing_required_check_is_named_in_the_503(
    calls: Counter[str], monkeypatch: Any
) -> None:
    def broker() -> str:
        raise ConnectionRefusedError("[Errno 111] Connection refused")

    monkeypatch.setitem(checks.CHECKS, "broker", broker)
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broker"]
    assert body["detail"] == (
        "not ready: broker (ConnectionRefusedError: [Errno 111] Connection refused)"
    )
    assert body["checks"]["broker"]["status"] == "error"
    assert body["checks"]["database"]["status"] == "ok"


def test_a_check_that_hangs_is_cut_off_and_never_started_twice(
    calls: Counter[str], settings: Any, monkeypatch: Any
) -> None:
    release = threading.Event()
    started: Counter[str] = Counter()

    def hangs() -> str:
        started["state_bucket"] += 1
        release.wait(30)
        return "too late"

    settings.IDP_READINESS_TIMEOUT = 0.1
    settings.IDP_READINESS_REQUIRED = ["database", "broker", "state_bucket"]
    settings.IDP_READINESS_CACHE_SECONDS = 0  # every call is a new round
    monkeypatch.setitem(checks.CHECKS, "state_bucket", hangs)
    try:
        first = Client().get("/readyz")
        second = Client().get("/readyz")
    finally:
        release.set()
    assert first.status_code == 503 and first.json()["failing"] == ["state_bucket"]
    assert first.json()["checks"]["state_bucket"]["detail"] == "no answer within 0.1 s"
    # Still hanging at the next round: reported, not started again; the others ran again.
    assert second.status_code == 503 and second.json()["failing"] == ["state_bucket"]
    detail = second.json()["checks"]["state_bucket"]["detail"]
    assert detail.startswith("the previous check has not answered in"), detail
    assert started["state_bucket"] == 1 and calls["broker"] == 2
