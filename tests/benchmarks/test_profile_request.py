"""The request profiler's code path with a handful of requests (no timing is asserted)."""

from __future__ import annotations

import pytest

from benchmarks import profile_request

pytestmark = pytest.mark.django_db


def test_every_scenario_answers_and_is_broken_down_by_stage() -> None:
    results = profile_request.run(5, handler_kind="client", cprofile_top=5)

    assert [r.key for r in results] == [s.key for s in profile_request.SCENARIOS]
    assert all(r.status == 200 for r in results)
    by_key = {r.key: r for r in results}
    assert by_key["ceiling"].queries == 0
    token_stages = {row.stage for row in by_key["token_me"].stages}
    assert "token auth: lookup + last-used" in token_stages
    assert "throttling" in token_stages
    assert any(stage.startswith("middleware: ") for stage in token_stages)
    session_stages = {row.stage for row in by_key["session_me"].stages}
    assert "session: load the session row" in session_stages
    # The SQL of one request is named by the stage that issued it.
    assert any(sql.startswith("[token auth") for sql in by_key["token_me"].sql)
    assert all(r.cprofile for r in results)
    report = profile_request.format_results(results)
    assert profile_request.ME in report and profile_request.RESOURCES in report


def test_the_instrumentation_is_removed_afterwards() -> None:
    from rest_framework.views import APIView

    before = APIView.check_throttles
    profile_request.run(1, handler_kind="client", scenarios=profile_request.SCENARIOS[:2])

    assert APIView.check_throttles is before
