"""The portal by keyboard, in a real browser: the first Tab stop skips the navigation, a
refused form puts focus on the first field in error, and the request form's expiry is one
Tab stop."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.models import Template
from idp.models import Environment
from tests.browser_support import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _focused(page: Any) -> str:
    """What has the focus: the element's name, else its id, else its text."""
    return str(
        page.evaluate(
            "() => { const e = document.activeElement;"
            " return e.getAttribute('name') || e.id || e.textContent.trim(); }"
        )
    )


def test_skip_link_first_error_focus_and_one_stop_expiry(
    page: Any, alice: Any, catalog: Template, environments: dict[str, Environment]
) -> None:
    Environment.objects.filter(slug="dev").update(allows_ttl=True)  # the expiry is offered
    sign_in(page, "alice", "pw-alice")
    page.goto("/resources/")
    page.keyboard.press("Tab")
    assert _focused(page) == "Skip to content"
    assert page.locator(".skip-link").is_visible()  # shown while it has the focus
    page.keyboard.press("Enter")
    assert _focused(page) == "main"

    # A request the platform refuses (a name it does not allow): the page comes back with
    # the focus on that field, marked invalid.
    page.goto("/catalog/templates/example-config/request/")
    page.select_option("[name=environment]", "dev")
    page.fill("[name=name]", "Not A Valid Name!")
    page.fill("[name=expires_at]", "2099-01-01 12:00")
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()
    assert page.locator("#field-name .errorlist").is_visible()
    assert _focused(page) == "name"
    assert page.locator("[name=name]").get_attribute("aria-invalid") == "true"

    # The expiry is one text field: one Tab goes past it.
    page.focus("[name=expires_at]")
    page.keyboard.press("Tab")
    assert _focused(page) != "expires_at"
