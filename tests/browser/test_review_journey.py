"""Issue 14's "done when", in a real browser (Debian's Chromium through Playwright) with a real
worker and real Terraform: alice changes her prod `example-config` from "hello" to "changed";
bob opens the portal, sees "1" on the Approvals badge, opens the item, reads
`message: "hello" → "changed"`, opens the resource, approves, and watches the page reach
Provisioned with the new outputs without reloading it."""

from __future__ import annotations

from typing import Any

import pytest

from provisioning import actions
from provisioning.choices import ResourceStatus
from tests.browser_support import ARTIFACTS, sign_in

from .test_inbox import wait_for_status
from .test_live_page import status_is

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.integration]


def test_bob_reviews_hello_to_changed_and_watches_it_apply(
    page: Any, state: str, alice: Any, bob: Any, catalog: Any, environments: dict
) -> None:
    resource = actions.request_resource(
        actor=alice,
        template="example-config",
        version=None,
        team="payments",
        environment="prod",
        name="greeting",
        parameters={"message": "hello", "replicas": 2},
    ).resource
    wait_for_status(resource, {ResourceStatus.AWAITING_APPROVAL})
    actions.approve(resource, actor=bob)
    wait_for_status(resource, {ResourceStatus.PROVISIONED})
    assert resource.outputs["message"] == "hello"
    actions.change_parameters(resource, {"message": "changed", "replicas": 2}, actor=alice)
    wait_for_status(resource, {ResourceStatus.AWAITING_APPROVAL})

    sign_in(page, "bob", "pw-bob")
    assert page.locator("header nav .inbox-count").inner_text().strip() == "1"
    page.get_by_role("link", name="Approvals").click()
    row = page.locator("tr.inbox-item")
    assert row.count() == 1 and "greeting" in row.inner_text()
    assert "changes: message" in row.inner_text()
    page.get_by_text("The plan's changes").click()
    change = page.locator("tr.inbox-plan .plan-nested[data-path='input.message']")
    assert change.inner_text().replace("\n", " ").strip() == 'input.message: "hello" → "changed"'
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review-1-inbox.png"), full_page=True)

    row.get_by_role("link", name="greeting").click()
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    assert "This plan awaits your decision." in page.locator("#approval-banner").inner_text()
    nested = page.locator("#plan .plan-nested[data-path='input.message']").inner_text()
    assert nested.replace("\n", " ").strip() == 'input.message: "hello" → "changed"'
    page.click("text=Approve plan")
    page.wait_for_load_state()
    page.evaluate("window.__sameDocument = true")  # the approval itself is one page load

    status_is(page, "Provisioned")
    page.wait_for_selector(".outputs:has-text('changed')")
    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
    assert page.locator("header nav .inbox-count").count() == 0  # nothing left to decide
    page.screenshot(path=str(ARTIFACTS / "review-2-provisioned.png"), full_page=True)
    resource.refresh_from_db()
    assert resource.outputs["message"] == "changed"
