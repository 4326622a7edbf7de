"""Issue 27's "Choosing what to upgrade", in a real browser (Debian's Chromium): a platform
admin picks example-config, "from 1.0", environments dev and staging; the preview counts the
matches as the boxes are ticked (the one already on 1.1 is skipped); the fleet upgrade is
planned by a real Celery worker with real Terraform, "Start the waves" appears without a
reload, and the waves run to "wave 2 of 2", never "3 of 2", on the same page."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.models import Template, TemplateVersion
from fleet.choices import FleetStatus
from fleet.models import FleetUpgrade
from tests.browser_support import ARTIFACTS, sign_in
from tests.fleet.conftest import drive_until, register
from tests.helpers import make_resource

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.integration]

LIVE_WAIT = 20_000  # ms: a few polls of the live part (every 3 s)


def shot(page: Any, step: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"fleet-form-{step}.png"), full_page=True)


def preview_count(page: Any, count: int) -> None:
    page.wait_for_selector(f"#fleet-preview [data-preview=count][data-count='{count}']")


def test_an_admin_upgrades_example_config_from_1_0_in_dev_and_staging(
    page: Any,
    state: str,
    platform_admin: Any,
    teams: dict[str, Any],
    environments: dict[str, Any],
) -> None:
    other = Template.objects.create(slug="a-first-template", title="First")
    TemplateVersion.objects.create(template=other, number=1, content_hash="x", files={})
    old, new = register("v1", slug="example-config"), register("v2", slug="example-config")
    TemplateVersion.objects.filter(pk=old.pk).update(label="1.0")
    TemplateVersion.objects.filter(pk=new.pk).update(label="1.1")
    payments, search = teams["payments"], teams["search"]
    for team, name, version, env in [
        (payments, "cfg-dev", old, "dev"),
        (payments, "cfg-staging", old, "staging"),
        (payments, "cfg-prod", old, "prod"),  # not in the chosen environments
        (payments, "cfg-dev-new", new, "dev"),  # already on 1.1: skipped
        (search, "search-dev", old, "dev"),
    ]:
        make_resource(
            team,
            name,
            template_version=version,
            environment=environments[env],
            parameters={"message": name},
        )

    sign_in(page, "padmin", "pw-padmin")
    page.goto("/fleet-upgrades/new/")
    # Another template comes first; choosing example-config brings its versions (htmx).
    assert page.locator("[data-filter=from_versions] input").count() == 1
    page.select_option("select[name=template]", "example-config")
    versions = page.locator("[data-filter=from_versions] label")
    page.wait_for_function(
        "() => document.querySelectorAll('[data-filter=from_versions] input').length === 2"
    )
    assert [t.strip() for t in versions.all_inner_texts()] == ["1.1", "1.0"]
    assert "`" not in page.content()
    preview_count(page, 4)  # every live resource of example-config not on 1.1 yet
    page.locator("[data-filter=from_versions]").get_by_label("1.0").check()
    preview_count(page, 4)
    page.locator("[data-filter=environments]").get_by_label("Dev").check()
    preview_count(page, 2)
    page.locator("[data-filter=environments]").get_by_label("Staging").check()
    preview_count(page, 3)
    rows = page.locator("#fleet-preview tr[data-resource]")
    names = {rows.nth(i).get_attribute("data-resource") for i in range(rows.count())}
    assert names == {"cfg-dev", "cfg-staging", "search-dev"}
    # Ticking 1.1 as well brings in the one already there, shown as skipped.
    page.locator("[data-filter=from_versions]").get_by_label("1.1").check()
    page.wait_for_selector("#fleet-preview [data-preview=skipped][data-count='1']")
    assert "already on 1.1: skipped" in page.inner_text("#fleet-preview")
    page.locator("[data-filter=from_versions]").get_by_label("1.1").uncheck()
    page.wait_for_selector("#fleet-preview [data-preview=skipped]", state="detached")
    page.uncheck("input[name=auto_apply]")
    shot(page, "filters")

    page.click("button:has-text('Plan the fleet')")
    page.wait_for_url(lambda url: "/fleet-upgrades/new" not in url)
    fleet = FleetUpgrade.objects.get()
    assert fleet.selection == {
        "kind": "all",
        "environments": ["dev", "staging"],
        "from_versions": ["1.0"],
    }
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    assert page.locator("button:has-text('Start the waves')").count() == 0

    # The worker plans with Terraform; the test drives the fleet as the beat sweeper would.
    drive_until(fleet, lambda f: f.status == FleetStatus.PLANNED, "the plans")
    page.wait_for_selector("button:has-text('Start the waves')", timeout=LIVE_WAIT)
    assert page.evaluate("window.__sameDocument === true")
    shot(page, "planned")

    page.click("button:has-text('Start the waves')")
    page.wait_for_selector("#fleet-live button:has-text('Pause')")
    drive_until(fleet, lambda f: f.status == FleetStatus.COMPLETED, "the waves")
    page.wait_for_selector("#fleet-live .badge.completed", timeout=LIVE_WAIT)
    assert page.evaluate("window.__sameDocument === true")
    assert page.inner_text(".fleet-wave") == "wave 2 of 2"
    assert "Start the waves" not in page.inner_text("#fleet-live")
    shot(page, "completed")
