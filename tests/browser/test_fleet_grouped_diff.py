"""Issue 27's fleet review by change, in a real browser (Debian's Chromium): three resources
with one identical change read as one group, "3 resources: input.color: null → "yellow"",
below the replacement, which comes first and in red."""

from __future__ import annotations

from typing import Any

import pytest

from idp.models import Environment
from tests.browser_support import ARTIFACTS, sign_in
from tests.fleet.test_grouped_diff import make_fleet

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_bob_reads_three_identical_changes_as_one_group(
    page: Any, transactional_db: None, teams: dict[str, Any], bob: Any
) -> None:
    envs = {
        slug: Environment.objects.create(slug=slug, name=slug.title(), order=order)
        for order, slug in enumerate(("sandbox", "dev", "prod"))
    }
    fleet = make_fleet(envs, teams["payments"], bob)
    sign_in(page, "bob", "pw-bob")
    page.goto(f"/fleet-upgrades/{fleet.pk}/")
    groups = page.locator("details.change-group")
    assert groups.count() == 2
    first, second = groups.nth(0), groups.nth(1)
    assert first.get_attribute("data-count") == "1" and "replaces" in first.inner_text()
    red = first.locator(".change-title").evaluate("e => getComputedStyle(e).color")
    assert red != second.locator(".change-title").evaluate("e => getComputedStyle(e).color")
    summary = second.locator("summary").inner_text()
    assert summary.startswith("3 resources") and 'input.color: null → "yellow"' in summary
    leaf = second.locator("li[data-path='input.color']").inner_text()
    assert leaf.strip() == 'input.color: null → "yellow"'
    members = second.locator(".change-members").inner_text()
    assert all(name in members for name in ("note-a", "note-b", "note-c"))
    assert "note-r" not in members
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "fleet-grouped-diff.png"), full_page=True)
