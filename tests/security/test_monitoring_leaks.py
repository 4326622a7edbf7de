"""Monitoring never tells another team's slug apart from a slug that does not exist.

The `team` filter of costs, metrics, alerts, budgets and analytics once answered 400 for an
unknown slug and 404 for another team's, and creating a budget for another team did the
same: a probe for "does team X exist" that every signed-in user could run.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from idp.choices import Role
from idp.models import Team
from monitoring.models import Budget
from tests.utils import assert_error

FILTERED = [
    "/api/v1/costs/",
    "/api/v1/metrics/",
    "/api/v1/alerts/",
    "/api/v1/budgets/",
    "/api/v1/analytics/",
]


def _same_answer(other: Any, unknown: Any, other_slug: str, unknown_slug: str) -> dict:
    """Both answers have one status and one body once the slug each names is taken out."""
    assert other.status_code == unknown.status_code, (other.content, unknown.content)
    other_body = other.content.decode().replace(other_slug, "<slug>")
    unknown_body = unknown.content.decode().replace(unknown_slug, "<slug>")
    assert other_body == unknown_body
    return other.json()


@pytest.mark.parametrize("path", FILTERED)
def test_team_filter_answers_alike_for_unknown_and_other_teams(
    api_as: Any, alice: Any, carol: Any, path: str
) -> None:
    api = api_as(alice)
    body = _same_answer(
        api.get(path, {"team": "search"}), api.get(path, {"team": "nosuch"}), "search", "nosuch"
    )
    assert_error(api.get(path, {"team": "search"}), 400, "team")
    assert body == {"detail": {"team": ["Unknown team 'search'."]}}


def test_budget_create_answers_alike_for_unknown_and_other_teams(
    api_as: Any, make_user: Any, teams: dict[str, Team]
) -> None:
    admin = make_user("erin", team=teams["payments"], role=Role.ADMIN)
    api = api_as(admin)
    other = api.post("/api/v1/budgets/", {"team": "search", "monthly_amount": 1}, format="json")
    unknown = api.post("/api/v1/budgets/", {"team": "nosuch", "monthly_amount": 1}, format="json")
    body = _same_answer(other, unknown, "search", "nosuch")
    assert other.status_code == 400
    assert body == {"detail": {"team": ["Unknown team 'search'."]}}
    assert not Budget.objects.exists()


def test_platform_admins_still_filter_by_any_team_and_get_400_for_unknown(
    api_as: Any, platform_admin: Any, teams: dict[str, Team]
) -> None:
    api = api_as(platform_admin)
    assert api.get("/api/v1/costs/", {"team": "search"}).status_code == 200
    assert_error(api.get("/api/v1/costs/", {"team": "nosuch"}), 400, "team")


def test_portal_team_pages_answer_alike(client_as: Any, alice: Any, carol: Any) -> None:
    client = client_as(alice)
    for name, extra in (("team_dashboard", []), ("budget_edit", []), ("csv", ["daily"])):
        other = client.get(reverse(f"monitoring:{name}", args=["search", *extra]))
        unknown = client.get(reverse(f"monitoring:{name}", args=["nosuch", *extra]))
        assert other.status_code == unknown.status_code == 404
