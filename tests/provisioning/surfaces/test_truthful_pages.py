"""Pages that tell the truth: where a change lands, a failed plan, a resolved drift, and the
price of a pending request."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from provisioning import workflow
from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.models import Resource, Run

DRIFT = {
    "resources": [{"address": "terraform_data.this", "action": "update", "attributes": ["input"]}],
    "outputs": [],
}


def test_a_change_lands_on_the_resource_page_with_its_message(
    client_as, alice, teams, make_resource
):
    resource = make_resource(teams["payments"], "cfg")
    client = client_as(alice)
    response = client.post(f"/resources/{resource.pk}/parameters/", {"p-message": "new"})
    assert response.status_code == 302 and response["Location"] == f"/resources/{resource.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "Parameters of cfg changed; a new plan is queued." in page
    run = Run.objects.get()
    # The page shows the plan now running, not a succeeded plan with nothing after it.
    assert f"/resources/runs/{run.pk}/" in page


def test_destroy_and_reconcile_land_on_the_resource_page(client_as, bob, teams, make_resource):
    client = client_as(bob)
    gone = make_resource(teams["payments"], "gone", provisioned_at=timezone.now())
    response = client.post(f"/resources/{gone.pk}/destroy/")
    assert response["Location"] == f"/resources/{gone.pk}/"
    drifted = make_resource(
        teams["payments"],
        "drifted",
        provisioned_at=timezone.now(),
        drifted=True,
        drift_checked_at=timezone.now(),
        drift_details=DRIFT,
    )
    response = client.post(f"/resources/{drifted.pk}/reconcile/")
    assert response.status_code == 302 and response["Location"] == f"/resources/{drifted.pk}/"


def test_the_plan_run_page_links_the_apply_that_follows(
    client_as, alice, teams, make_resource, make_run
):
    resource = make_resource(teams["payments"], "cfg")
    plan = make_run(resource, plan_summary={"add": 1, "change": 0, "destroy": 0})
    client = client_as(alice)
    page = client.get(f"/resources/runs/{plan.pk}/").content.decode()
    assert 'id="run-applies"' in page and f'href="/resources/{resource.pk}/"' in page
    apply = make_run(resource, kind=RunKind.APPLY, status=RunStatus.RUNNING, plan_run=plan)
    page = client.get(f"/resources/runs/{plan.pk}/").content.decode()
    links = page[page.index('id="run-applies"') :].split("</p>")[0]
    assert f'href="/resources/runs/{apply.pk}/"' in links and "Running" in links


def test_a_failed_plan_says_so_instead_of_no_changes(
    client_as, alice, teams, make_resource, make_run
):
    resource = make_resource(teams["payments"], "cfg", status=ResourceStatus.FAILED)
    plan = make_run(resource, status=RunStatus.FAILED, error="Error: invalid value")
    client = client_as(alice)
    for url in (f"/resources/{resource.pk}/", f"/resources/runs/{plan.pk}/"):
        page = client.get(url).content.decode()
        assert "Plan failed" in page, url
        assert "No resource changes" not in page and "+0 to add" not in page, url


def test_after_a_reconcile_the_drift_panel_names_the_check_that_found_it(
    client_as, alice, teams, make_resource, make_run
):
    found_at = timezone.now() - timedelta(minutes=7)
    resource = make_resource(
        teams["payments"], "cfg", provisioned_at=timezone.now(), status=ResourceStatus.APPLYING
    )
    check = make_run(resource, kind=RunKind.DRIFT, plan_summary={"drifted": True})
    Resource.objects.filter(pk=resource.pk).update(
        drifted=True, drift_checked_at=found_at, drift_details={**DRIFT, "run": check.pk}
    )
    plan = make_run(resource, plan_summary={"add": 0, "change": 1, "destroy": 0})
    apply = make_run(resource, kind=RunKind.APPLY, status=RunStatus.RUNNING, plan_run=plan)
    workflow.apply_finished(apply, {"message": "hello cfg"}, "", [])
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.PROVISIONED and not resource.drifted

    page = client_as(alice).get(f"/resources/{resource.pk}/").content.decode()
    assert "No drift at the last check" not in page
    note = page[page.index('id="drift-resolved"') :].split("</p>")[0]
    assert timezone.localtime(found_at).strftime("%Y-%m-%d %H:%M") in note
    assert f'href="/resources/runs/{check.pk}/"' in note
    assert "reconciled by" in note and f'href="/resources/runs/{apply.pk}/"' in note


def test_a_pending_resource_shows_the_estimate_of_its_request(
    client_as, alice, teams, envs, template
):
    version = template.current_version
    version.cost_hints = {"fixed_monthly_usd": 6}
    version.save(update_fields=["cost_hints"])
    client = client_as(alice)
    form = client.get("/catalog/templates/example-config/request/").content.decode()
    assert "$6.00" in form
    response = client.post(
        "/catalog/templates/example-config/request/",
        {"team": "payments", "environment": "dev", "name": "priced", "p-message": "hi"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    resource = Resource.objects.get(name="priced")
    assert resource.status == ResourceStatus.PENDING
    page = client.get(f"/resources/{resource.pk}/").content.decode()
    cost = page[page.index("<dt>Estimated cost</dt>") :].split("</dd>")[0]
    assert "$6.00" in cost and "—" not in cost
