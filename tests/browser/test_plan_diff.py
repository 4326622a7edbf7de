"""The approver reads a plan's attribute-level diff in a real browser (Debian's Chromium):
`input: "hello" → "changed"` on the resource page, unchanged attributes behind "show all",
the sensitive output masked and the secret parameter nowhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from catalog.sensitivity import MASK
from idp.models import Environment
from provisioning import actions
from provisioning.choices import ResourceStatus
from provisioning.engine.backend import ensure_state_bucket
from tests.browser_support import ARTIFACTS, sign_in
from tests.provisioning.engine.conftest import register_module, request_module, settle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SECRET = "browser-secret-param-3141"


def shot(page: Any, step: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"plan-diff-{step}.png"), full_page=True)


@pytest.fixture
def changed(
    transactional_db: None, aws: str, settings: Any, tmp_path: Path, alice, bob, teams
) -> Any:
    """A prod resource applied with "hello", whose change to "changed" awaits bob."""
    settings.IDP_WORK_DIR = tmp_path / "runs"
    settings.IDP_PLUGIN_CACHE_DIR = tmp_path.parent / "plugin-cache"
    ensure_state_bucket()
    Environment.objects.create(slug="prod", name="Prod", requires_approval=True, order=3)
    register_module("tf_echo")
    resource = request_module(alice, teams["payments"], env="prod", name="greeting")
    settle(resource, ResourceStatus.AWAITING_APPROVAL)
    actions.approve(resource, actor=bob)
    settle(resource, ResourceStatus.PROVISIONED)
    actions.change_parameters(resource, {"message": "changed", "secret": SECRET}, actor=alice)
    settle(resource, ResourceStatus.AWAITING_APPROVAL)
    return resource


def test_the_approver_reads_hello_to_changed_and_expands_show_all(page, changed, bob) -> None:
    sign_in(page, "bob", "pw-bob")
    page.goto(f"/resources/{changed.pk}/")
    block = page.locator("details.plan-resource[data-address='terraform_data.echo']")
    assert block.get_attribute("open") is not None  # expanded from the start
    assert "will be updated in-place" in block.locator("> summary").inner_text()
    row = block.locator("tr.attr-changed[data-attribute='input']")
    assert row.locator("td.plan-change").inner_text().strip() == '"hello" → "changed"'
    assert row.locator("td.plan-mark").inner_text().strip() == "~"
    output_row = block.locator("tr.attr-changed[data-attribute='output']")
    assert "(known after apply)" in output_row.inner_text()
    # The mark's colour is the update's (amber), not the page's text colour.
    colour = row.locator("td.plan-mark").evaluate("e => getComputedStyle(e).color")
    assert colour == "rgb(154, 103, 0)", colour

    unchanged = block.locator("details.plan-unchanged")
    id_row = unchanged.locator("tr[data-attribute='id']")
    assert not id_row.is_visible()  # hidden behind "show all"
    shot(page, "1-collapsed")
    unchanged.locator("summary").click()
    assert id_row.is_visible() and len(id_row.locator("td.plan-change").inner_text()) > 10

    token = page.locator(".plan-outputs tr[data-output='token']")
    assert MASK in token.inner_text() and "(sensitive)" in token.inner_text()
    assert SECRET not in page.content()
    page.locator("#plan").scroll_into_view_if_needed()
    shot(page, "2-show-all")

    # The resource block folds away like any <details>.
    block.locator("> summary").click()
    assert not row.is_visible()

    # The plan run's own page shows the same diff.
    page.goto(f"/resources/runs/{changed.runs.order_by('-pk').first().pk}/")
    cell = page.locator("tr.attr-changed[data-attribute='input'] td.plan-change")
    assert cell.inner_text().strip() == '"hello" → "changed"'
    shot(page, "3-run-page")
