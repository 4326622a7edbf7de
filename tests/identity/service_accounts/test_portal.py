"""Service accounts from the team page: a maintainer creates one, gives it a token shown
once, and disables it; members only see them; another team's answer 404."""

from __future__ import annotations

import re

from rest_framework.test import APIClient

from idp.models import AuditEvent, ServiceAccount


def token_on(page: str) -> str:
    found = re.search(r'<code id="new-sa-token-value">(idp_[^<]+)</code>', page)
    assert found, page
    return found.group(1)


def test_a_maintainer_creates_a_service_account_and_its_token_in_the_portal(
    bob, alice, carol, teams, client_as
):
    portal = client_as(bob)
    page = portal.get("/teams/payments/").content.decode()
    assert 'id="service-account-form"' in page

    # A bad name is refused beside its field, and nothing is made.
    refused = portal.post("/teams/payments/service-accounts/", {"name": "CI!", "role": "member"})
    assert refused.status_code == 400
    assert refused.context["sa_form"].errors["name"]
    assert not ServiceAccount.objects.exists()

    made = portal.post(
        "/teams/payments/service-accounts/",
        {"name": "ci", "role": "member", "description": "GitHub Actions"},
    )
    assert made.status_code == 302
    account = ServiceAccount.objects.get(team=teams["payments"], name="ci")
    assert account.created_by == bob

    answer = portal.post(
        "/teams/payments/service-accounts/ci/tokens/", {"name": "deploy", "expires_in": "30d"}
    )
    assert answer.status_code == 302
    page = portal.get("/teams/payments/").content.decode()
    raw = token_on(page)
    assert raw not in portal.get("/teams/payments/").content.decode()  # shown once
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    me = api.get("/api/v1/me/")
    assert me.status_code == 200 and me.json()["user"]["username"] == "sa:payments:ci"
    assert api.get("/api/v1/teams/search/").status_code == 404  # its team only

    # Disabled: the token stops at once; enabled again, it works again.
    assert (
        portal.post("/teams/payments/service-accounts/ci/enabled/", {"enabled": "0"}).status_code
        == 302
    )
    assert api.get("/api/v1/me/").status_code == 401
    portal.post("/teams/payments/service-accounts/ci/enabled/", {"enabled": "1"})
    assert api.get("/api/v1/me/").status_code == 200
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"service_account.created", "service_account.disabled"} <= actions

    # A member sees the account but no form, and may not act; another team gets 404.
    member = client_as(alice)
    page = member.get("/teams/payments/").content.decode()
    assert "sa:payments:ci" in page and 'id="service-account-form"' not in page
    wanted = {"name": "x", "role": "member"}
    assert member.post("/teams/payments/service-accounts/", wanted).status_code == 403
    assert (
        member.post("/teams/payments/service-accounts/ci/tokens/", {"name": "x"}).status_code == 403
    )
    outsider = client_as(carol)
    assert (
        outsider.post("/teams/payments/service-accounts/ci/tokens/", {"name": "x"}).status_code
        == 404
    )
    assert outsider.post("/teams/payments/service-accounts/", wanted).status_code == 404
