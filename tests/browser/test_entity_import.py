"""Importing a catalog-info.yaml in the portal with a real browser: preview, then import."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.models import Entity
from tests.browser_support import ARTIFACTS, sign_in
from tests.catalog.entity_docs import SHOP

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def shot(page: Any, step: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"entity-import-{step}.png"), full_page=True)


def test_preview_then_import(page: Any, transactional_db: None, bob: Any) -> None:
    sign_in(page, "bob", "pw-bob")
    page.goto("/catalog/import/")
    page.fill("textarea[name=content]", SHOP)
    page.click("button[name=preview]")
    page.wait_for_selector("#import-report")
    assert page.locator("table.import-items tbody tr").count() == 5
    assert not Entity.objects.filter(kind="Component").exists()
    shot(page, "preview")

    page.click("button[name=import]")
    page.wait_for_selector("text=Imported: 5 created")
    assert Entity.objects.filter(kind="Component").count() == 2
    shot(page, "done")
