"""Portal refusals render the portal's 403 page with the reason and who may; the API stays JSON."""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied
from django.test import RequestFactory

from idp.views import permission_denied


def _refusal(response) -> str:
    assert response.status_code == 403, response.content[:500]
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    # The portal's layout (base.html), not Django's bare "403 Forbidden".
    assert 'id="not-allowed"' in page and "<nav" in page
    assert "<h1>403 Forbidden</h1>" not in page
    return page[page.index('id="refusal-reason"') :]


def test_a_maintainer_opening_the_budget_page_reads_why(bob, client_as):
    page = _refusal(client_as(bob).get("/monitoring/teams/payments/budget/"))
    assert "Only team admins manage budgets" in page and "an admin of Payments" in page


def test_a_maintainer_posting_a_budget_reads_why(bob, client_as):
    page = _refusal(client_as(bob).post("/monitoring/teams/payments/budget/", {"amount": "5"}))
    assert "Only team admins manage budgets" in page


def test_member_pages_refuse_with_their_reason(alice, client_as):
    client = client_as(alice)
    page = _refusal(client.get("/teams/payments/audit/"))
    assert "Only admins of Payments see its audit log." in page
    page = _refusal(client.post("/teams/payments/members/", {"username": "x", "role": "admin"}))
    assert "Only admins of Payments manage its members." in page


def test_registering_a_service_without_a_maintainer_role_says_who_may(carol, client_as):
    page = _refusal(client_as(carol).get("/catalog/services/new/"))
    assert "Only team maintainers register services." in page


def test_another_teams_budget_stays_a_404(carol, client_as):
    assert client_as(carol).get("/monitoring/teams/payments/budget/").status_code == 404


def test_the_handler_answers_json_under_the_api(db):
    request = RequestFactory().get("/api/v1/anything/")
    response = permission_denied(request, PermissionDenied("No."))
    assert response.status_code == 403
    assert json.loads(response.content) == {"detail": "No."}


def test_notification_preferences_opened_directly_show_the_profile(alice, client_as):
    client = client_as(alice)
    response = client.get("/profile/notifications/")
    assert response.status_code == 302
    assert response["Location"] == "/profile/#notifications"
    assert client.get(response["Location"]).status_code == 200
