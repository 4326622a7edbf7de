# ruff: noqa: F811 - the surfaces fixtures are imported by name, then asked for by name
"""The resource page follows a request live in a real browser (Debian's Chromium through
Playwright): a real Celery worker plans and applies the shipped `example-config` with real
Terraform against the moto server, and alice's page, never reloaded, goes from the plan to
"Awaiting approval" (with the banner saying who may approve) to "Provisioned" with outputs.
The approvers and the requester are told by e-mail on the way."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from provisioning import actions, lifecycle
from provisioning.choices import ResourceStatus, RunStatus
from provisioning.models import Resource
from provisioning.presenters import MASK
from tests.browser_support import ARTIFACTS, sign_in
from tests.provisioning.surfaces.conftest import (  # noqa: F401 - fixtures
    envs,
    make_resource,
    make_run,
    template,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.integration]

TERRAFORM_WAIT = 90_000  # ms: a bound for a stuck worker, not a timing assertion
SECRET = "s3cr3t-live-token"


def shot(page: Any, step: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"live-{step}.png"), full_page=True)


def status_is(page: Any, text: str, timeout: int = TERRAFORM_WAIT) -> None:
    """Wait, without reloading, until the page's status badge reads `text`."""
    page.wait_for_function(
        "text => document.querySelector('#resource-status').textContent.includes(text)",
        arg=text,
        timeout=timeout,
    )


def mails_to(address: str, subject_part: str, page: Any) -> list[Any]:
    """The mails to `address` whose subject has `subject_part`, waiting a little for the
    worker's listener (it sends right after its commit, the page may be quicker)."""
    for _ in range(40):
        found = [m for m in mail.outbox if address in m.to and subject_part in m.subject]
        if found:
            return found
        page.wait_for_timeout(250)
    return []


def test_the_resource_page_follows_plan_approval_and_apply_without_reload(
    page: Any,
    browser: Any,
    live_server: Any,
    state: str,
    alice: Any,
    bob: Any,
    teams: dict,
    catalog: Any,
    environments: dict,
) -> None:
    resource = actions.request_resource(
        actor=alice,
        template=catalog,
        version=None,
        team=teams["payments"],
        environment=environments["prod"],
        name="live-config",
        parameters={"message": "hello live", "replicas": 2, "secret_token": SECRET},
    ).resource
    sign_in(page, "alice", "pw-alice")
    page.goto(f"/resources/{resource.pk}/")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    status_is(page, "Awaiting approval")
    banner = page.locator("#approval-banner").inner_text()
    assert "This plan awaits approval." in banner
    assert "1 approval from a maintainer or admin of payments" in banner
    assert "not alice, who made this change" in banner
    assert "The approval window closes" in banner
    assert page.locator("text=Approve plan").count() == 0  # alice may not approve
    assert "to add" in page.locator("#plan").inner_text()  # the plan arrived with it
    shot(page, "1-alice-awaiting")
    assert mails_to("bob@example.com", "Plan awaits your decision", page)
    assert not mails_to("alice@example.com", "Plan awaits your decision", page)

    bob_context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}
    )
    try:
        bob_page = bob_context.new_page()
        sign_in(bob_page, "bob", "pw-bob")
        bob_page.goto(f"/resources/{resource.pk}/")
        assert "awaits your decision" in bob_page.locator("#approval-banner").inner_text()
        # What bob types survives a swap of the live part (here: a drift mark appears).
        bob_page.fill("#actions [name=reason]", "Looks right")
        Resource.objects.filter(pk=resource.pk).update(drifted=True)
        bob_page.wait_for_selector("#resource-live .badge.warn:has-text('drifted')")
        assert bob_page.input_value("#actions [name=reason]") == "Looks right"
        Resource.objects.filter(pk=resource.pk).update(drifted=False)
        shot(bob_page, "2-bob-awaiting")
        bob_page.click("text=Approve plan")
        bob_page.wait_for_load_state()
    finally:
        bob_context.close()

    status_is(page, "Provisioned")
    page.wait_for_selector(".outputs:has-text('hello live')")
    outputs = page.locator(".outputs").inner_text()
    assert MASK in outputs and SECRET not in page.content()
    assert page.locator("#approval-banner").count() == 0
    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
    shot(page, "3-alice-provisioned")
    # The quiet page stops polling: no live poller is left in the document.
    assert page.locator("#resource-live[hx-trigger]").count() == 0

    assert mails_to("alice@example.com", "Plan approved", page)
    assert mails_to("alice@example.com", "Applied", page)
    assert all(SECRET not in m.body for m in mail.outbox)


def test_profile_turns_notifications_off(page: Any, alice: Any) -> None:
    """alice unticks "A plan awaits my decision" on her profile; the choice is kept."""
    from idp.models import NotificationPreference

    sign_in(page, "alice", "pw-alice")
    page.goto("/profile/")
    form = page.locator("#notification-preferences")
    assert form.locator("[name=plans_to_decide]").is_checked()
    assert form.locator("[name=my_requests]").is_checked()
    form.locator("[name=plans_to_decide]").uncheck()
    form.get_by_role("button", name="Save notification preferences").click()
    page.wait_for_selector("text=Notification preferences saved.")
    assert not page.locator("#notification-preferences [name=plans_to_decide]").is_checked()
    assert page.locator("#notification-preferences [name=my_requests]").is_checked()
    preference = NotificationPreference.objects.get(user=alice)
    assert not preference.plans_to_decide and preference.my_requests
    shot(page, "4-profile-notifications")


def test_run_page_waits_for_a_worker_then_shows_the_log(
    page: Any, alice: Any, teams: dict, make_resource: Any, make_run: Any
) -> None:
    """A queued run's page says it waits for a worker instead of an empty log; when a worker
    starts and writes, the log shows in place (the worker's steps taken here by the test)."""
    resource = make_resource(teams["payments"], "cfg", status=ResourceStatus.PLANNING)
    run = make_run(resource, status=RunStatus.QUEUED, created_by=alice)
    sign_in(page, "alice", "pw-alice")
    page.goto(f"/resources/runs/{run.pk}/")
    waiting = page.locator("#log-waiting")
    assert waiting.is_visible() and "Waiting for a worker" in waiting.inner_text()
    assert not page.locator("#log").is_visible()  # no empty black box
    shot(page, "5-run-waiting")

    lifecycle.start_run(run, worker="worker-1")
    text = "Terraform will perform the following actions\n"
    run.log_chunks.create(seq=0, offset=0, text=text)
    type(run).objects.filter(pk=run.pk).update(log_size=len(text))
    page.wait_for_selector("#log:has-text('Terraform will perform')", timeout=10_000)
    assert not page.locator("#log-waiting").is_visible()
    assert "Running" in page.locator("#run-status").inner_text()
    assert "—" not in page.locator("#run-times dd").nth(1).inner_text()  # started: a time
    shot(page, "6-run-log")
