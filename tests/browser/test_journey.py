"""The issue's user journey in a real browser (Debian's Chromium through Playwright) against the
live server, with a real Celery worker, real Terraform on the shipped `example-config` template,
the moto server for the state and the local GitHub-shaped server for pipelines."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from monitoring.models import Budget, CostRecord
from provisioning.models import Resource
from provisioning.presenters import MASK
from tests.browser_support import ARTIFACTS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TERRAFORM_WAIT = 60_000  # ms: a bound for a stuck worker, not a timing assertion
SECRET = "s3cr3t-journey-token"


def shot(page: Any, step: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"journey-{step}.png"), full_page=True)


def wait_for_text(page: Any, selector: str, text: str, timeout: int = TERRAFORM_WAIT) -> None:
    """Reload until `selector` shows `text`: pages that do not poll show the worker's progress."""
    deadline = timezone.now() + timedelta(milliseconds=timeout)
    while text not in page.locator(selector).inner_text():
        assert timezone.now() < deadline, f"{selector} never showed {text!r}"
        page.wait_for_timeout(500)
        page.reload()


def test_request_plan_approve_and_outputs(
    page: Any,
    browser: Any,
    live_server: Any,
    state: str,
    alice: Any,
    bob: Any,
    catalog: Any,
    environments: dict,
) -> None:
    """alice finds example-config, requests it in prod (a bad parameter first), watches the plan
    and its log; bob approves in the portal; alice sees `provisioned` and masked outputs."""
    sign_in(page, "alice", "pw-alice")
    page.goto("/catalog/")
    assert page.locator(".template-card").count() >= 5
    page.fill("input[name=q]", "example")
    page.click("text=Filter")
    cards = page.locator(".template-card")
    assert cards.count() == 1 and "Example configuration" in cards.inner_text()
    shot(page, "1-catalog-search")
    cards.get_by_role("link", name="Example configuration").click()
    page.wait_for_url("**/catalog/templates/example-config/")
    page.goto("/catalog/templates/example-config/request/")

    page.select_option("select[name=team]", "payments")
    page.select_option("select[name=environment]", "prod")
    page.fill("input[name=name]", "journey-config")
    page.fill("[name='p-message']", "hello from the journey")
    page.fill("[name='p-replicas']", "42")
    page.fill("[name='p-secret_token']", SECRET)
    page.click("button[type=submit]:has-text('Request')")
    error = page.locator("#field-p-replicas .errorlist")
    assert error.is_visible() and error.inner_text().strip()
    assert page.locator(".errorlist").count() == 1  # only the bad field is marked
    assert not Resource.objects.filter(name="journey-config").exists()
    shot(page, "2-bad-parameter")

    page.fill("[name='p-replicas']", "3")
    if page.locator("[name='p-secret_token']").input_value() == "":
        page.fill("[name='p-secret_token']", SECRET)  # a secret is never echoed back
    page.click("button[type=submit]:has-text('Request')")
    page.wait_for_url("**/resources/*/")
    resource = Resource.objects.get(name="journey-config")

    page.click("text=watch its log")
    page.wait_for_url("**/resources/runs/*/")
    # The run page polls its log with htmx and reloads once the run is final.
    page.wait_for_function(
        "document.querySelector('#run-status').textContent.includes('Succeeded')",
        timeout=TERRAFORM_WAIT,
    )
    # The status can read Succeeded while the page reloads for its final form: wait for the
    # log of that form rather than reading it in between.
    page.wait_for_function(
        "(document.querySelector('#log') || {innerText: ''}).innerText"
        ".includes('terraform_data.config')",
        timeout=TERRAFORM_WAIT,
    )
    log = page.locator("#log").inner_text()
    assert "terraform_data.config" in log and SECRET not in log
    assert "2 to add" in page.locator("#plan").inner_text()
    assert SECRET not in page.content()
    shot(page, "3-plan-log")

    page.goto(f"/resources/{resource.pk}/")
    wait_for_text(page, "#resource-status", "Awaiting approval")
    assert page.locator("text=Approve plan").count() == 0  # alice may not approve
    shot(page, "4-awaiting-approval")

    # bob in his own browser context approves in the portal.
    bob_context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}
    )
    try:
        bob_page = bob_context.new_page()
        sign_in(bob_page, "bob", "pw-bob")
        bob_page.goto(f"/resources/{resource.pk}/")
        bob_page.fill("#actions [name=reason]", "Looks right")
        bob_page.click("text=Approve plan")
        bob_page.wait_for_load_state()
        shot(bob_page, "5-bob-approved")
    finally:
        bob_context.close()

    page.reload()
    wait_for_text(page, "#resource-status", "Provisioned")
    outputs = page.locator(".outputs").inner_text()
    assert "hello from the journey" in outputs and MASK in outputs and SECRET not in page.content()
    assert "bob" in page.locator("body").inner_text()  # the approval is listed
    # The monitoring panel arrives by htmx, its alarms and hints shown once.
    page.wait_for_selector("#resource-monitoring")
    assert page.get_by_role("heading", name="Alarms", exact=True).count() == 1
    assert page.get_by_role("heading", name="Right-sizing hints").count() == 1
    shot(page, "6-provisioned")


def test_pipeline_from_service_page_with_checks_and_pr(
    page: Any, celery_worker: Any, github: Any, bob: Any, payments_service: Any
) -> None:
    """bob (a maintainer) opens the payments service, creates a pipeline, sees the checks pass in
    the preview and, after delivery by the worker, the pull request link."""
    sign_in(page, "bob", "pw-bob")
    page.goto("/catalog/services/")
    page.get_by_role("link", name="Payments API").click()
    page.wait_for_url("**/catalog/services/payments-api/")
    page.click("text=Create pipeline")
    page.wait_for_url("**/pipelines/new/?service=payments-api")
    page.wait_for_selector("#check-results .badge.success")
    assert "actionlint found nothing" in page.locator("#check-results").inner_text()
    assert page.locator("#preview").get_by_text("runs-on").count() >= 1
    shot(page, "7-pipeline-preview")

    page.click("button:has-text('Create pipeline')")
    page.wait_for_url("**/pipelines/*/")
    # The pipeline page polls while the delivery is in flight.
    link = page.locator("#pr-link a")
    link.wait_for(timeout=30_000)
    assert "#1" in link.inner_text() and "acme/payments-api" in link.inner_text()
    assert "/pull/1" in (link.get_attribute("href") or "")
    repo = github.repos["acme/payments-api"]
    assert repo.pulls, "the pull request was opened on the GitHub-shaped server"
    shot(page, "8-pipeline-pr")


def test_team_cost_dashboard_draws_its_charts(page: Any, alice: Any, teams: dict) -> None:
    """Seeded cost data drawn by Chart.js on the team dashboard (non-blank canvases)."""
    payments = teams["payments"]
    today = timezone.now().date()
    for offset in range(28):
        for service, amount in (("payments-api", "4.20"), ("checkout", "1.30")):
            CostRecord.objects.create(
                team=payments,
                service_slug=service,
                environment_slug="prod",
                date=today - timedelta(days=offset),
                amount=Decimal(amount),
            )
    Budget.objects.create(team=payments, monthly_amount=Decimal("200"))
    sign_in(page, "alice", "pw-alice")
    page.goto("/monitoring/teams/payments/")
    for chart in page.locator("canvas[data-chart]").all():
        chart.scroll_into_view_if_needed()
    page.wait_for_selector("canvas[data-chart='chart-data-daily'][data-drawn='1']")
    painted = page.evaluate(
        """() => [...document.querySelectorAll('canvas[data-chart]')].map(c => {
             const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
             let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) n++; }
             return n;
           })"""
    )
    assert painted and all(n > 100 for n in painted), painted
    month_to_date = sum(
        Decimal("5.50")
        for offset in range(28)
        if (today - timedelta(days=offset)).month == today.month
    )
    assert f"${month_to_date:.2f}" in page.locator("main").inner_text()
    shot(page, "9-cost-dashboard")
