"""One real browser round trip per protocol: Chromium clicks the portal's SSO button, signs
in at the local IdP, and lands in the portal as a member of the mapped team."""

from __future__ import annotations

from typing import Any

import pytest

from idp.auth import groups
from idp.choices import Role, SSOMappingMode

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def mapped(transactional_db: None, make_team: Any) -> None:
    payments = make_team("payments")
    groups.save_mapping("eng-payments", payments, Role.MEMBER, SSOMappingMode.MANAGE)


def _sign_in_at_idp(page: Any, button: str, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_text(button).click()
    page.get_by_role("button", name="Continue").click()
    page.fill("#username", username)
    page.fill("#password", "pw")
    page.click("#sign-in")


def test_oidc_in_chromium(page, live_server, oidc, mapped):
    oidc.add_user("kim", groups=["eng-payments"])
    _sign_in_at_idp(page, "Company SSO", "kim")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("header.top").get_by_text("kim").is_visible()
    page.goto("/teams/")
    assert page.locator("main table").get_by_text("payments").count() >= 1


def test_saml_in_chromium_and_no_team_page(page, live_server, saml, mapped):
    saml.add_user("lee", groups=["marketing"])
    _sign_in_at_idp(page, "Company SAML", "lee")
    page.wait_for_url("**/accounts/sso/no-team/")
    assert page.get_by_text("not in a team yet").is_visible()
    assert page.get_by_text("your platform team").is_visible()
