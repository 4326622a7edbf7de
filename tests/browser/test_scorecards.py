"""Scorecards in a real browser (Debian's Chromium): the organisation view with its trend
chart drawn by the vendored Chart.js, a service's scorecard with the rules it misses and
links to the pages that fix them, and the badge on the service page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from catalog.models import Service, Template, TemplateVersion
from catalog.software.services import scorecards
from idp import services as idp_services
from idp.models import Team
from provisioning.models import Resource
from tests.browser_support import ARTIFACTS, sign_in
from tests.catalog.test_scorecards import applied, docs, pipeline

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def shot(page: Any, step: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"scorecards-{step}.png"), full_page=True)


@pytest.fixture
def scored(transactional_db: None, teams: dict[str, Team], alice: Any, bob: Any) -> Resource:
    """Two payments services scored over the last days; `orders` has a drifted resource."""
    scorecards.sync_rules()
    prod = idp_services.upsert_environment(
        "prod", name="Production", order=30, requires_approval=True, is_production=True
    )
    template = Template.objects.create(slug="queue", title="Queue")
    version = TemplateVersion.objects.create(template=template, number=1, content_hash="1")
    template.current_version = version
    template.save()
    orders = Service.objects.create(
        team=teams["payments"], name="Orders", slug="orders", lifecycle="production"
    )
    billing = Service.objects.create(
        team=teams["payments"], name="Billing", slug="billing", lifecycle="experimental"
    )
    Service.objects.create(team=teams["search"], name="Search", slug="search-api")
    pipeline(orders, ("main", "success"))
    docs(orders)
    docs(billing, age_days=200)
    queue = Resource.objects.create(
        team=teams["payments"],
        service=orders,
        template=template,
        template_version=version,
        environment=prod,
        name="orders-queue",
        status="provisioned",
    )
    applied(queue, approver=bob)
    today = timezone.now().date()
    for back in range(6, 0, -1):
        scorecards.score_all(today - timedelta(days=back))
    Resource.objects.filter(pk=queue.pk).update(drifted=True)
    scorecards.score_all(today)
    return queue


def test_org_view_chart_and_a_service_with_fix_links(page: Any, scored: Resource) -> None:
    sign_in(page, "alice", "pw-alice")
    page.goto("/catalog/scorecards/")
    # Chart.js drew the trend from the stored daily results (no network beyond the server).
    page.wait_for_selector("canvas[data-chart][data-drawn='1']")
    assert page.locator("#level-counts").inner_text().lower().split()[:2] == ["2", "services"]
    table = page.locator("#scorecard-table")
    assert "Orders" in table.inner_text() and "Search" not in table.inner_text()
    shot(page, "org")

    page.click("#scorecard-table >> text=Orders")
    page.wait_for_url("**/catalog/scorecards/services/orders/")
    drift = page.locator("tr[data-rule='no-drift']")
    assert "failed" in drift.inner_text() and "prod/orders-queue" in drift.inner_text()
    assert page.locator("tr[data-rule='pipeline-green']").get_attribute("class") == (
        "rule rule-passed"
    )
    assert page.locator("#service-trend tbody tr").count() == 7
    shot(page, "service")

    drift.locator("a.fix-link").click()
    page.wait_for_url(f"**/resources/{scored.pk}/")

    # The badge on the service page, loaded by htmx, links back to the scorecard.
    page.goto("/catalog/services/orders/")
    badge = page.locator("a.scorecard-badge")
    badge.wait_for()
    assert "Bronze" in badge.inner_text() and "/8 rules" in badge.inner_text()
    shot(page, "badge")

    page.goto("/catalog/scorecards/services/billing/")
    fix = page.locator("tr[data-rule='lifecycle-set'] a.fix-link")
    assert fix.get_attribute("href") == "/catalog/services/billing/edit/"
    # Another team's service answers 404.
    response = page.goto("/catalog/scorecards/services/search-api/")
    assert response is not None and response.status == 404
