"""The shipped demo policy in a real browser (Debian's Chromium through Playwright): alice asks
for `example-config` in prod with 7 replicas; a real worker plans it with real Terraform and
the shipped `example_replicas` policy (mandatory) holds the plan. Her page, never reloaded,
says why; she changes the replicas to 4 and the new plan waits for bob, with the policies
shown as passed."""

from __future__ import annotations

from typing import Any

import pytest

from policies.services import sync_policies
from provisioning import actions
from tests.browser_support import ARTIFACTS, sign_in

from .test_live_page import status_is

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.integration]


def test_a_plan_over_the_replica_limit_is_held_and_its_fix_passes(
    page: Any, state: str, alice: Any, teams: dict, catalog: Any, environments: dict
) -> None:
    report = sync_policies()
    assert report.ok and "example_replicas" in report.loaded, report.failed
    resource = actions.request_resource(
        actor=alice,
        template=catalog,
        version=None,
        team=teams["payments"],
        environment=environments["prod"],
        name="too-big",
        parameters={"message": "hello", "replicas": 7},
    ).resource
    sign_in(page, "alice", "pw-alice")
    page.goto(f"/resources/{resource.pk}/")
    page.evaluate("window.__sameDocument = true")

    status_is(page, "Failed a policy")
    banner = page.locator("#policy-banner").inner_text()
    assert "fails 1 mandatory policy" in banner
    assert "asks for 7 replicas; prod allows at most 5" in banner
    assert page.locator("text=Approve plan").count() == 0
    results = page.locator("#policy-results").inner_text()
    assert "example_replicas" in results and "required_tags" in results
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "policy-1-held.png"), full_page=True)
    assert page.evaluate("window.__sameDocument") is True

    page.click("#policy-banner >> text=change parameters")
    page.fill("[name=p-replicas]", "4")
    page.click("text=Plan with these parameters")
    page.wait_for_url(f"**/resources/{resource.pk}/")  # the resource's page follows a change
    page.goto(f"/resources/{resource.pk}/")
    status_is(page, "Awaiting approval")
    assert page.locator("#policy-banner").count() == 0
    assert "passed" in page.locator("#policy-results").inner_text()
    page.screenshot(path=str(ARTIFACTS / "policy-2-fixed.png"), full_page=True)
