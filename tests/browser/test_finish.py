"""Finish, in a real browser: the portal's 404 page, phones (390 px wide: no sideways page
scroll, a navigation behind a Menu button), and the request form's live cost estimate."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from catalog.models import Template
from idp.models import Environment
from provisioning.choices import ResourceStatus
from provisioning.models import Resource
from tests.browser_support import ARTIFACTS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}
SHOTS = Path(os.environ.get("IDP_SHOTS_DIR") or ARTIFACTS)
NAV = ("Catalog", "Services", "Resources", "Pipelines", "Monitoring", "Teams")


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"finish-{name}.png"), full_page=True)


def page_width(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


@pytest.fixture
def phone(browser: Any, live_server: Any) -> Any:
    context = browser.new_context(base_url=live_server.url, viewport=PHONE)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def long_rows(catalog: Template, environments: dict, teams: dict) -> None:
    """Resources with long names and parameters: the widest a resource table gets."""
    for n in range(3):
        Resource.objects.create(
            team=teams["payments"],
            template=catalog,
            template_version=catalog.current_version,
            environment=environments["dev"],
            name=f"a-rather-long-resource-name-for-phones-{n}",
            status=ResourceStatus.PROVISIONED,
            parameters={"message": "x" * 300, "labels": {"tier": "gold"}},
        )


def test_not_found_page_is_the_portals(page: Any, alice: Any) -> None:
    sign_in(page, "alice", "pw-alice")
    response = page.goto("/no-such-page/")
    assert response is not None and response.status == 404
    assert page.locator("#not-found h1").inner_text() == "Not found"
    assert page.locator("header.top nav").is_visible()  # the portal's frame, not Django's
    assert "URL patterns" not in page.content() and "URLconf" not in page.content()
    shot(page, "404")
    page.get_by_role("link", name="Catalog").last.click()
    page.wait_for_url("**/catalog/")


def test_phone_width_has_no_sideways_scroll_and_a_usable_nav(
    phone: Any, alice: Any, long_rows: None
) -> None:
    sign_in(phone, "alice", "pw-alice")
    for name, url in (
        ("home", "/"),
        ("resources", "/resources/"),
        ("template", "/catalog/templates/example-config/"),
        ("request", "/catalog/templates/example-config/request/"),
        ("teams", "/teams/payments/"),
        ("404", "/no-such-page/"),
    ):
        phone.goto(url)
        width = page_width(phone)
        shot(phone, f"390-{name}")
        assert width <= PHONE["width"], f"{url} is {width}px wide"
        # Under 600 px the navigation folds behind its Menu button.
        menu = phone.locator("header.top").get_by_role("button", name="Menu")
        assert menu.get_attribute("aria-expanded") == "false"
        assert not phone.locator("header.top nav").is_visible(), url
        menu.click()
        assert menu.get_attribute("aria-expanded") == "true"
        for label in NAV:
            link = phone.locator("header.top nav").get_by_role("link", name=label, exact=True)
            box = link.bounding_box()
            assert box is not None and link.is_visible(), f"{label} hidden on {url}"
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (label, box)
    # A wide table scrolls inside itself, the page does not.
    phone.goto("/resources/")
    table = phone.locator("main table").first
    assert table.evaluate("t => t.scrollWidth >= t.clientWidth")
    phone.locator("header.top").get_by_role("button", name="Menu").click()
    phone.locator("header.top nav").get_by_role("link", name="Catalog", exact=True).click()
    phone.wait_for_url("**/catalog/")
    assert page_width(phone) <= PHONE["width"]


def test_cost_estimate_follows_replicas(
    page: Any, alice: Any, catalog: Template, environments: dict[str, Environment]
) -> None:
    sign_in(page, "alice", "pw-alice")
    page.goto("/catalog/templates/example-config/request/")
    estimate = page.locator("#estimate .estimate-amount")
    assert estimate.inner_text() == "$1.50"
    page.fill("[name='p-replicas']", "4")
    page.locator("[name='p-replicas']").dispatch_event("change")
    page.wait_for_function(
        "document.querySelector('#estimate .estimate-amount').textContent === '$6.00'"
    )
    shot(page, "estimate-4-replicas")
    # Typing alone (keyup) updates it too, without leaving the field.
    page.locator("[name='p-replicas']").press("Backspace")
    page.locator("[name='p-replicas']").type("7")
    page.wait_for_function(
        "document.querySelector('#estimate .estimate-amount').textContent === '$10.50'"
    )
    # The estimate's htmx does not take over the form: Request still submits the page.
    page.fill("input[name=name]", "priced")
    page.fill("[name='p-message']", "héllo")
    page.click("button[type=submit]:has-text('Request')")
    page.wait_for_load_state()
    error = page.locator("#field-p-message .errorlist")
    assert error.inner_text().strip() == "Use letters, digits, spaces and , . ! ? - (at most 100)"
    assert page.locator("#estimate .estimate-amount").inner_text() == "$10.50"
    shot(page, "readable-error")


def test_member_previews_copies_and_downloads_a_pipeline(
    browser: Any, live_server: Any, alice: Any, payments_service: Any, settings: Any
) -> None:
    settings.GITHUB_TOKEN = ""  # GitHub not configured: the form says so
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 1280, "height": 900},
        permissions=["clipboard-read", "clipboard-write"],
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, "alice", "pw-alice")
        page.goto("/catalog/services/payments-api/")
        page.click("text=Preview a pipeline")
        page.wait_for_url("**/pipelines/new/?service=payments-api")
        page.wait_for_selector("#check-results")
        page.click("#copy-yaml")
        page.wait_for_function(
            "document.getElementById('copy-status').textContent.includes('Copied')"
        )
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied.startswith("# Generated by IDP") and "runs-on" in copied
        with page.expect_download() as info:
            page.click("#download-yaml")
        download = info.value
        assert download.suggested_filename == "python.yml"
        assert Path(download.path()).read_text() == copied
        shot(page, "pipeline-preview-member")
    finally:
        context.close()
