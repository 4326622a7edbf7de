"""Day-2 pages in a real browser: a refusal is the portal's page with its reason, a new
personal token is read-only unless more is ticked, and a change lands on the resource page."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.models import Template
from provisioning.choices import ResourceStatus
from provisioning.models import Resource
from tests.browser_support import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_refusal_is_the_portals_page_with_the_reason(page: Any, bob: Any) -> None:
    sign_in(page, "bob", "pw-bob")  # a maintainer of payments, not an admin
    response = page.goto("/monitoring/teams/payments/budget/")
    assert response is not None and response.status == 403
    assert "Only team admins manage budgets" in page.locator("#refusal-reason").inner_text()
    assert page.locator("header.top nav").is_visible()  # the portal's frame, styled
    assert "403 Forbidden" not in page.content()


def test_a_new_token_is_read_only_unless_more_is_ticked(page: Any, alice: Any) -> None:
    sign_in(page, "alice", "pw-alice")
    page.goto("/profile/")
    boxes = page.locator("#token-scopes input[type=checkbox]")
    ticked = [b.get_attribute("value") for b in boxes.all() if b.is_checked()]
    assert ticked == ["read"]
    assert page.locator("#token-scopes .badge", has_text="powerful").count() == 2
    page.get_by_role("button", name="Create token").click()
    page.wait_for_selector("#new-token")
    assert page.locator("#token-table tbody tr").first.inner_text().count("read") == 1
    assert "write" not in page.locator("#token-table tbody tr").first.inner_text()
    # None ticked is refused with a message, not taken as "all".
    page.locator("#token-scopes input[value=read]").uncheck()
    page.get_by_role("button", name="Create token").click()
    page.wait_for_selector("#token-scopes .errorlist")
    assert "Choose at least one scope" in page.locator("#token-scopes .errorlist").inner_text()


def test_a_change_lands_on_the_resource_page(
    page: Any, alice: Any, teams: dict, catalog: Template, environments: dict
) -> None:
    resource = Resource.objects.create(
        team=teams["payments"],
        template=catalog,
        template_version=catalog.current_version,
        environment=environments["dev"],
        name="landing",
        status=ResourceStatus.PROVISIONED,
        parameters={"message": "hello"},
    )
    sign_in(page, "alice", "pw-alice")
    page.goto(f"/resources/{resource.pk}/parameters/")
    page.fill("[name='p-message']", "hello again")
    page.get_by_role("button", name="Plan with these parameters").click()
    page.wait_for_url(f"**/resources/{resource.pk}/")
    assert "landing" in page.locator("h1").first.inner_text()
    assert "/runs/" not in page.url
