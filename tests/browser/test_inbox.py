"""The approvals inbox in a real browser (Debian's Chromium through Playwright): alice's prod
request is planned by a real worker (real Terraform, state on the local AWS API); bob sees
"1" on the Approvals badge, reads the item, approves it from the inbox, the badge is gone and
the resource is applied."""

from __future__ import annotations

import time
from typing import Any

import pytest

from provisioning import actions
from provisioning.choices import ResourceStatus
from provisioning.models import Resource
from tests.browser_support import ARTIFACTS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.integration]

WAIT = 120  # seconds: a bound for a stuck worker, not a timing assertion


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"inbox-{name}.png"), full_page=True)


def wait_for_status(resource: Resource, wanted: set[str]) -> Resource:
    deadline = time.monotonic() + WAIT
    while True:
        resource.refresh_from_db()
        if resource.status in wanted:
            return resource
        assert resource.status != ResourceStatus.FAILED, resource.last_error
        assert time.monotonic() < deadline, f"still {resource.status}"
        time.sleep(0.3)


def test_bob_approves_alices_request_from_the_inbox(
    page: Any,
    browser: Any,
    live_server: Any,
    state: str,
    alice: Any,
    bob: Any,
    catalog: Any,
    environments: dict,
) -> None:
    resource = actions.request_resource(
        actor=alice,
        template="example-config",
        version=None,
        team="payments",
        environment="prod",
        name="inbox-config",
        parameters={"message": "hello"},
    ).resource
    wait_for_status(resource, {ResourceStatus.AWAITING_APPROVAL})

    # alice, the requester, has nothing to decide.
    sign_in(page, "alice", "pw-alice")
    assert page.locator(".inbox-count").count() == 0
    page.get_by_role("link", name="Approvals").click()
    assert "Nothing awaits your decision." in page.locator("main").inner_text()

    bob_context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}
    )
    try:
        bob_page = bob_context.new_page()
        sign_in(bob_page, "bob", "pw-bob")
        badge = bob_page.locator("header nav .inbox-count")
        assert badge.inner_text().strip() == "1"
        bob_page.get_by_role("link", name="Approvals").click()
        bob_page.wait_for_url("**/resources/approvals/")
        row = bob_page.locator("tr.inbox-item")
        assert row.count() == 1
        text = row.inner_text()
        for expected in ("inbox-config", "payments · prod", "example-config", "create", "alice"):
            assert expected in text, (expected, text)
        assert "+2" in text  # the module adds two resources
        bob_page.get_by_text("The plan's changes").click()
        diff = bob_page.locator("tr.inbox-plan .plan-diff")
        assert diff.is_visible() and "terraform_data.config" in diff.inner_text()
        shot(bob_page, "1-inbox")
        bob_page.set_viewport_size({"width": 390, "height": 844})
        approve = bob_page.get_by_role("button", name="Approve inbox-config")
        approve.scroll_into_view_if_needed()
        assert approve.is_visible()  # the table scrolls inside its box, the page does not
        assert bob_page.evaluate("document.documentElement.scrollWidth") <= 400
        shot(bob_page, "1-inbox-390px")
        bob_page.set_viewport_size({"width": 1280, "height": 900})

        # The same plan in Django admin (bob is staff): its diff, policy and buttons.
        bob.is_staff = True
        bob.save(update_fields=["is_staff"])
        bob_page.goto(f"/admin/provisioning/resource/{resource.pk}/change/")
        panel = bob_page.locator("#plan-panel")
        assert "Plan awaiting approval" in panel.inner_text()
        assert "may decide on this plan" in panel.inner_text()
        shot(bob_page, "2-admin-change-page")
        bob_page.goto("/resources/approvals/")

        bob_page.get_by_role("button", name="Approve inbox-config").click()
        bob_page.wait_for_url("**/resources/approvals/")
        assert (
            "inbox-config approved; the apply is queued."
            in bob_page.locator(".messages").inner_text()
        )
        assert bob_page.locator("header nav .inbox-count").count() == 0
        assert "Nothing awaits your decision." in bob_page.locator("main").inner_text()
        shot(bob_page, "3-approved")

        wait_for_status(resource, {ResourceStatus.PROVISIONED})
        bob_page.goto(f"/resources/{resource.pk}/")
        assert "Provisioned" in bob_page.locator("main").inner_text()
        shot(bob_page, "4-provisioned")
    finally:
        bob_context.close()
