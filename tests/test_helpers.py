"""The shared test helpers say what went wrong: the SQL of a query count, what a wait was for."""

from __future__ import annotations

from typing import Any

import pytest

from idp.models import Team
from provisioning.choices import ResourceStatus
from tests.helpers import assert_queries, bearer, make_resource, wait_for, wait_for_status
from tests.utils import assert_ok


def test_assert_queries_passes_on_the_count_and_lists_the_sql_when_it_is_wrong(db: None) -> None:
    with assert_queries(1) as captured:
        list(Team.objects.filter(slug="payments"))
    assert len(captured.captured_queries) == 1

    with pytest.raises(AssertionError) as failed, assert_queries(1):
        list(Team.objects.filter(slug="payments"))
        list(Team.objects.filter(slug="search"))
    message = str(failed.value)
    assert "2 queries, expected 1" in message
    assert "1. SELECT" in message and "2. SELECT" in message and "'search'" in message


def test_assert_queries_at_most(db: None) -> None:
    with assert_queries(at_most=2):
        list(Team.objects.all())
    with pytest.raises(AssertionError, match="expected at most 0"), assert_queries(at_most=0):
        list(Team.objects.all())
    with pytest.raises(TypeError), assert_queries(1, at_most=1):
        pass


def test_wait_for_returns_the_value_and_fails_naming_what_it_waited_for() -> None:
    answers = iter([None, 0, "ready"])
    assert wait_for(lambda: next(answers), "the answer", timeout=5, every=0.01) == "ready"
    with pytest.raises(pytest.fail.Exception, match="waiting for the impossible"):
        wait_for(lambda: False, "the impossible", timeout=0.05, every=0.01)


def test_make_resource_and_wait_for_status(teams: dict[str, Team]) -> None:
    resource = make_resource(teams["payments"], "queue")
    assert resource.status == ResourceStatus.PROVISIONED
    assert resource.environment.slug == "dev" and resource.template_version.number == 1
    assert wait_for_status(resource, ResourceStatus.PROVISIONED, timeout=1) == resource
    other = make_resource(teams["search"], "queue", status=ResourceStatus.FAILED)
    assert other.template_version == resource.template_version
    with pytest.raises(pytest.fail.Exception, match="is 'failed', not provisioned"):
        wait_for_status(other, ResourceStatus.PROVISIONED, timeout=0.3)


def test_bearer_signs_in_with_a_token(alice: Any) -> None:
    from idp import services

    _, raw = services.create_api_token(alice, name="t")
    assert assert_ok(bearer(raw).get("/api/v1/me/"))["user"]["username"] == "alice"
    assert bearer("not-a-token").get("/api/v1/me/").status_code == 401
