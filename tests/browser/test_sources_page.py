"""The template sources page in a real browser (Debian's Chromium): a platform admin finds it in
the navigation, reads a failed last sync in words, adds a source (its webhook secret shown
once) and presses "Sync now"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from catalog.models import TemplateSource
from catalog.services import sources
from tests.browser_support import ARTIFACTS, sign_in
from tests.catalog.test_sources import Origin, module

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def shot(page: Any, step: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"sources-{step}.png"), full_page=True)


def test_a_platform_admin_reads_a_failed_sync_and_adds_a_source(
    page: Any, transactional_db: None, platform_admin: Any, tmp_path: Path
) -> None:
    broken = Origin(tmp_path / "git", name="note")
    broken.commit(module(), "first")
    broken.tag("v1.0.0")
    broken.commit({"variables.tf": "variable {"}, "broken")
    broken.tag("v1.1.0")
    source = sources.register_source(None, broken.url)
    sources.sync_source(source)
    other = Origin(tmp_path / "git", name="other")
    other.commit(module(), "first")
    other.tag("v0.1.0")

    sign_in(page, "padmin", "pw-padmin")
    page.click("header nav a[href='/catalog/sources/']")
    page.wait_for_url("**/catalog/sources/")
    row = page.locator(f"#source-{source.pk}")
    assert "last sync failed" in row.inner_text()
    assert "Tag v1.1.0 was not imported: the template is not valid" in row.inner_text()
    shot(page, "list")

    page.click("text=Add a source")
    page.fill("#id_url", other.url)
    page.click("button:has-text('Add and sync')")
    secret_box = page.locator("#webhook-secret-value")
    secret = secret_box.inner_text().strip()
    added = TemplateSource.objects.get(url=other.url)
    assert secret and secret == added.webhook_secret
    shot(page, "secret")

    page.click("text=Go to the source")
    assert secret not in page.content()
    assert "set (shown once when it was made)" in page.locator("#webhook").inner_text()
    page.click("#sync-now")
    assert "A sync" in page.locator("ul.messages").inner_text()
    page.goto(f"/catalog/sources/{source.pk}/")
    shot(page, "detail")
