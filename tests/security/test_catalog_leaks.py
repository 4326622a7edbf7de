"""Registering a service whose slug is taken never names, nor hints at, the team that owns it.

Service slugs are unique across the platform, so "taken" has to be said; whose it is must
not be, and a slug taken by another team reads exactly like one taken by your own.
"""

from __future__ import annotations

from typing import Any

from catalog.models import Service
from catalog.software.services.components import create_service
from idp.models import Team
from tests.utils import assert_error

OTHER_TEAM = "orion-secret-team"


def _service(team: Team, slug: str) -> Service:
    return create_service(actor=None, team=team, name=slug.title(), slug=slug)


def _slug_field(page: str) -> str:
    return page.split('id="field-slug"')[1].split('<div class="field"')[0]


def test_api_conflict_is_the_same_for_your_slug_and_another_teams(
    api_as: Any, bob: Any, make_team: Any, teams: dict[str, Team]
) -> None:
    _service(make_team(OTHER_TEAM, name="Orion Secret Team"), "billing")
    _service(teams["payments"], "ledger")
    api = api_as(bob)
    theirs = api.post(
        "/api/v1/services/", {"name": "Billing", "slug": "billing", "team": "payments"}
    )
    ours = api.post("/api/v1/services/", {"name": "Ledger", "slug": "ledger", "team": "payments"})
    body = assert_error(theirs, 409, "slug")
    assert_error(ours, 409, "slug")
    text = theirs.content.decode().lower()
    assert "orion" not in text and "owned" not in text and "team" not in text
    assert theirs.content.decode().replace("billing", "<s>") == ours.content.decode().replace(
        "ledger", "<s>"
    )
    assert body["detail"]["slug"] == ["A service named 'billing' already exists"]
    assert Service.objects.filter(slug="billing").get().team.slug == OTHER_TEAM


def test_portal_conflict_never_names_the_owner(
    client_as: Any, bob: Any, make_team: Any, teams: dict[str, Team]
) -> None:
    _service(make_team(OTHER_TEAM, name="Orion Secret Team"), "billing")
    _service(teams["payments"], "ledger")
    client = client_as(bob)
    form = {"team": "payments", "lifecycle": "experimental", "tier": "3"}
    theirs = client.post("/catalog/services/new/", {**form, "name": "Billing", "slug": "billing"})
    ours = client.post("/catalog/services/new/", {**form, "name": "Ledger", "slug": "ledger"})
    assert theirs.status_code == ours.status_code == 400
    page = theirs.content.decode()
    assert "orion" not in page.lower()
    their_error = _slug_field(page)
    our_error = _slug_field(ours.content.decode())
    assert "already exists" in their_error
    assert their_error.replace("billing", "<s>").replace("Billing", "<S>") == our_error.replace(
        "ledger", "<s>"
    ).replace("Ledger", "<S>")
