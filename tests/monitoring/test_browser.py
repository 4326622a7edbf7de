"""A charted page in a real browser (Debian's Chromium through Playwright): the vendored Chart.js
draws the cost chart and the budget burn-down from the json_script data, with no CDN."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from monitoring.models import Budget, CostRecord
from tests.browser_support import sign_in


@pytest.mark.slow
def test_alice_sees_drawn_cost_and_burn_charts(page: Any, alice: Any, teams: dict) -> None:  # noqa: F811
    payments = teams["payments"]
    today = timezone.now().date()
    for offset in range(today.day):
        CostRecord.objects.create(
            team=payments,
            service_slug="checkout",
            environment_slug="dev",
            date=today - timedelta(days=offset),
            amount=Decimal("3.00"),
        )
    Budget.objects.create(team=payments, monthly_amount=Decimal("100"))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    sign_in(page, "alice", "pw-alice")
    page.goto("/monitoring/teams/payments/")
    page.wait_for_selector("canvas[data-chart='chart-data-burn'][data-drawn='1']")
    page.wait_for_selector("canvas[data-chart='chart-data-daily'][data-drawn='1']")
    # Chart.js really drew: the canvas has a size and non-blank pixels.
    painted = page.evaluate(
        """() => {
          const c = document.querySelector("canvas[data-chart='chart-data-daily']");
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) n++; }
          return n;
        }"""
    )
    assert painted > 100
    assert page.get_by_text("Budget burn-down this month").is_visible()
    base = page.url.split("/monitoring")[0]
    assert all(url.startswith(base) for url in requests), "no request may leave the server"
