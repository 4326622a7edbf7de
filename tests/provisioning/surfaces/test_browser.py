"""The run page's live log in a real browser: htmx appends new log text, then stops."""

from __future__ import annotations

import pytest
from django.utils import timezone

from provisioning.choices import RunKind, RunStatus
from provisioning.models import Run
from tests.browser_support import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_live_log_appends_and_stops(page, alice, teams, make_resource, make_run):  # noqa: F811
    resource = make_resource(teams["payments"], "cfg")
    run = make_run(resource, kind=RunKind.APPLY, status=RunStatus.RUNNING, log=["Initializing\n"])
    sign_in(page, "alice", "pw-alice")
    page.goto(f"/resources/runs/{run.pk}/")
    assert page.locator("#log").inner_text().strip() == "Initializing"
    assert page.locator("#log-poller").count() == 1

    run.log_chunks.create(seq=1, offset=13, text="Applying <now>\n")
    Run.objects.filter(pk=run.pk).update(log_size=13 + 15)
    page.wait_for_function("document.querySelector('#log').textContent.includes('Applying <now>')")
    assert page.locator("#log").inner_text().splitlines() == ["Initializing", "Applying <now>"]

    Run.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED, finished_at=timezone.now())
    # The final poll reloads the page once: the status is final and no poller is left.
    page.wait_for_function(
        "document.querySelector('#run-status').textContent.includes('Succeeded')"
    )
    assert page.locator("#log-poller").count() == 0
    assert page.locator("#log").inner_text().splitlines() == ["Initializing", "Applying <now>"]
