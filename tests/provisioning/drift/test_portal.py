"""The resource page shows drift expected → actual with the Reconcile and Accept drift
buttons; one click queues the plan. Viewers see no buttons and get 403; another team 404."""

from __future__ import annotations

import pytest

from idp.choices import Role
from provisioning.choices import ResourceStatus

from ..engine.conftest import request_module
from .conftest import change_behind_the_back, check_drift

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.mark.django_db
def test_drift_panel_and_one_click_reconcile(
    alice, carol, make_user, teams, envs, echo, state, drive, client_as
) -> None:
    resource = request_module(alice, teams["payments"], message="as requested")
    drive(resource)
    change_behind_the_back(state, resource, "changed by hand")
    check_drift(resource)
    page_url = f"/resources/{resource.pk}/"
    reconcile_url = f"/resources/{resource.pk}/reconcile/"
    accept_url = f"/resources/{resource.pk}/accept-drift/"

    vera = make_user("vera", team=teams["payments"], role=Role.VIEWER)
    page = client_as(vera).get(page_url).content.decode()
    assert 'id="drift-changes"' in page and "changed by hand" in page
    assert reconcile_url not in page and accept_url not in page
    assert client_as(vera).post(reconcile_url).status_code == 403
    assert client_as(vera).post(accept_url).status_code == 403
    assert client_as(carol).post(reconcile_url).status_code == 404
    assert client_as(carol).get(page_url).status_code == 404

    client = client_as(alice)
    page = client.get(page_url).content.decode()
    assert reconcile_url in page and accept_url in page
    panel = page[page.index('id="drift-changes"') :]
    assert panel.index("as requested") < panel.index("changed by hand")  # expected → actual

    answer = client.post(reconcile_url)
    assert answer.status_code == 302
    plan = resource.runs.order_by("-pk").first()
    # The resource's page follows: it shows the plan, then the apply.
    assert answer["Location"] == page_url
    assert plan is not None and plan.created_by == alice
    drive(resource)
    assert resource.status == ResourceStatus.PROVISIONED and not resource.drifted
    assert resource.outputs["echo"] == "as requested"
    page = client.get(page_url).content.decode()
    assert 'id="drift-changes"' not in page and reconcile_url not in page
    # It says which check found the drift and which run reconciled it.
    resolved = page[page.index('id="drift-resolved"') :].split("</p>")[0]
    assert "reconciled by" in resolved and "No drift at the last check" not in page

    # Nothing left to fix: the button's refusal is a message on the page, not an error.
    answer = client.post(reconcile_url, follow=True)
    assert "No drift was found" in answer.content.decode()


@pytest.mark.django_db
def test_accept_drift_button(alice, teams, envs, echo, state, drive, client_as) -> None:
    resource = request_module(alice, teams["payments"], message="as requested")
    drive(resource)
    change_behind_the_back(state, resource, "meant to be")
    check_drift(resource)
    answer = client_as(alice).post(f"/resources/{resource.pk}/accept-drift/")
    assert answer.status_code == 302
    plan, apply = drive(resource)
    assert plan.refresh_only and apply.refresh_only
    assert resource.status == ResourceStatus.PROVISIONED and not resource.drifted
    assert resource.outputs["echo"] == "meant to be"
    page = client_as(alice).get(f"/resources/{resource.pk}/").content.decode()
    resolved = page[page.index('id="drift-resolved"') :].split("</p>")[0]
    assert f'accepted by <a href="/resources/runs/{apply.pk}/">' in resolved
