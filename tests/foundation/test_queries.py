"""List pages keep a fixed number of queries however many rows they show."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from idp import services
from idp.choices import Role
from tests.utils import assert_ok


@pytest.fixture
def member_of_many(make_user: Any, make_team: Any) -> Any:
    """A user in 30 teams, each with two members."""
    user = make_user("busy")
    for i in range(30):
        team = make_team(f"team-{i:02d}")
        services.set_membership(team, user, Role.ADMIN if i % 2 else Role.VIEWER)
        make_user(f"peer-{i:02d}", team=team)
    return user


def count(fn: Any) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def test_team_list_page_query_count(member_of_many, client_as, django_assert_max_num_queries):
    client = client_as(member_of_many)
    with django_assert_max_num_queries(10):
        page = client.get("/teams/")
    assert page.content.count(b'href="/teams/team-') == 30
    # Each row shows the viewer's own role in that team (admin in odd, viewer in even teams).
    assert page.content.count(b'class="badge role-admin"') == 15
    assert page.content.count(b'class="badge role-viewer"') == 15
    few = count(lambda: client.get("/teams/?q=team-0"))  # 10 rows
    many = count(lambda: client.get("/teams/"))  # 30 rows
    assert few == many
    with django_assert_max_num_queries(12):
        assert client.get("/").status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get("/teams/team-01/").status_code == 200


def test_team_api_list_query_count(member_of_many, api_as, django_assert_max_num_queries):
    api = api_as(member_of_many)
    api.get("/api/v1/me/")  # token's last_used_at is touched on first use
    with django_assert_max_num_queries(6):
        body = assert_ok(api.get("/api/v1/teams/"))
    assert body["count"] == 30 and all(t["member_count"] == 2 for t in body["results"])
    assert count(lambda: api.get("/api/v1/teams/?page_size=5")) == count(
        lambda: api.get("/api/v1/teams/")
    )
    with django_assert_max_num_queries(6):
        body = assert_ok(api.get("/api/v1/audit/"))
    assert body["count"] > 30
