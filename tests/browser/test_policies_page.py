"""The Policies page in a real browser (Debian's Chromium): the failures chart is drawn by the
vendored Chart.js (no network) and the table of the same numbers is there, on the list and on
a policy's page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from idp.models import Team
from policies.services import sync_policies
from tests.browser_support import ARTIFACTS, sign_in
from tests.policies.support import failing_runs

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def shot(page: Any, step: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"policies-{step}.png"), full_page=True)


@pytest.fixture
def failures(transactional_db: None, teams: dict[str, Team], settings: Any, tmp_path: Path) -> None:
    settings.IDP_POLICY_DIRS = [str(tmp_path)]
    # A second policy of the team's own, so the chart has two stacked series.
    (tmp_path / "no_prod_configs.rego").write_text(
        "# METADATA\n# title: No example-config in prod this week\n# custom:\n"
        "#   enforcement: mandatory-overridable\n#   environments: [prod]\n"
        "package idp.no_prod_configs\nimport rego.v1\n\n"
        'deny contains "example-config is frozen in prod" if {\n'
        '\tinput.idp.template == "example-config"\n}\n'
    )
    assert sync_policies().ok
    failing_runs(teams["payments"], 3)
    failing_runs(teams["search"], 2)
    # A policy that stops loading afterwards: listed at the top with its error.
    (tmp_path / "half_written.rego").write_text("package idp.half_written\ndeny contains if {\n")
    assert "half_written" in sync_policies().failed


def test_the_chart_is_drawn_and_the_table_shows_the_same_numbers(
    page: Any, failures: None, alice: Any, carol: Any
) -> None:
    blocked: list[str] = []
    page.on(
        "request",
        lambda r: (
            blocked.append(r.url) if "127.0.0.1" not in r.url and "localhost" not in r.url else None
        ),
    )
    sign_in(page, "alice", "pw-alice")
    page.goto("/policies/")
    canvas = page.locator("canvas[data-policy-chart]")
    canvas.wait_for()
    page.wait_for_function(
        "document.querySelector('canvas[data-policy-chart]').dataset.drawn === '1'"
    )
    box = canvas.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100
    # Chart.js drew bars: some pixel of the canvas is not blank.
    painted = page.evaluate(
        """() => { const c = document.querySelector('canvas[data-policy-chart]');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) n++; } return n; }"""
    )
    assert painted > 1000
    headers = page.locator("table.failures-by-day thead th").all_inner_texts()
    assert [h.strip().lower() for h in headers] == [
        "day",
        "example_replicas",
        "no_prod_configs",
        "total",
    ]
    today = page.locator("table.failures-by-day tbody tr").first.locator("td").all_inner_texts()
    assert [c.strip() for c in today[1:]] == ["3", "3", "6"]
    replicas = page.locator("tr[data-policy='example_replicas']")
    assert replicas.locator("td.failures").inner_text().strip() == "3"
    assert replicas.locator(".team-failures").all_inner_texts() == ["Payments: 3"]
    assert page.get_by_text("Search:").count() == 0  # carol's team is not alice's
    alert = page.locator(".alert.policy-broken")
    assert "1 policy does not load." in alert.inner_text()
    assert "half_written.rego:" in alert.inner_text()
    shot(page, "list")
    assert not blocked, blocked  # no CDN: everything came from the platform

    page.click("tr[data-policy='example_replicas'] a")
    page.wait_for_url("**/policies/example_replicas/")
    page.wait_for_function(
        "document.querySelector('canvas[data-policy-chart]').dataset.drawn === '1'"
    )
    assert "package idp.example_replicas" in page.locator("pre.rego-source").inner_text()
    assert page.locator("table.recent-failures tbody tr").count() == 3
    shot(page, "detail")
