"""Portal pages through the Django test client: list, resource page, actions, run log."""

from __future__ import annotations

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.crypto import encrypt_json
from provisioning.models import Approval, Run
from provisioning.presenters import MASK


def test_list_filters_search_and_badges(client_as, alice, teams, envs, make_resource, make_service):
    checkout = make_service(teams["payments"], "checkout")
    pay_dev = make_resource(teams["payments"], "pay-dev", service=checkout)
    make_resource(teams["payments"], "pay-prod", environment=envs["prod"], status="failed")
    make_resource(teams["search"], "search-dev")
    client = client_as(alice)
    page = client.get("/resources/").content.decode()
    assert "pay-dev" in page and "pay-prod" in page and "search-dev" not in page
    assert '<span class="badge failed">Failed</span>' in page
    assert '<option value="payments">payments</option>' in page
    detail = reverse("provisioning:resource_detail", args=[pay_dev.pk])
    assert f'<a href="{detail}">pay-dev</a>' in page
    assert '<option value="search">' not in page  # only alice's teams are offered
    filtered = client.get("/resources/?environment=prod").content.decode()
    assert "pay-prod" in filtered and "pay-dev" not in filtered
    assert '<option value="prod" selected>prod</option>' in filtered
    both = client.get("/resources/?status=failed&status=provisioned").content.decode()
    assert '<option value="failed" selected>Failed</option>' in both
    assert '<option value="provisioned" selected>' in both
    assert "pay-dev" in client.get("/resources/?q=dev").content.decode()
    assert "pay-prod" not in client.get("/resources/?status=provisioned").content.decode()
    by_service = client.get("/resources/?service=checkout").content.decode()
    assert "pay-dev" in by_service and "pay-prod" not in by_service
    assert 'name="service" value="checkout"' in by_service
    bogus = client.get("/resources/?status=bogus")
    assert bogus.status_code == 200 and "status:" in bogus.content.decode()


def test_list_queries_do_not_grow_with_rows(client_as, platform_admin, teams, make_resource):
    client = client_as(platform_admin)
    for i in range(5):
        make_resource(teams["payments" if i % 2 else "search"], f"r-{i}")
    client.get("/resources/")
    with CaptureQueriesContext(connection) as few:
        assert client.get("/resources/").status_code == 200
    for i in range(5, 200):
        make_resource(teams["payments" if i % 2 else "search"], f"r-{i}")
    with CaptureQueriesContext(connection) as many:
        page = client.get("/resources/").content.decode()
    assert "Page 1 of 4" in page and "200 in all" in page
    assert len(many) == len(few), "\n".join(q["sql"] for q in many.captured_queries)


def test_resource_page_masks_secrets_and_offers_allowed_actions(
    client_as, alice, bob, teams, make_resource, make_run
):
    resource = make_resource(
        teams["payments"],
        "cfg",
        outputs={"message": "hello"},
        sensitive_output_names=["secret_token"],
        sensitive_outputs=encrypt_json({"secret_token": "token-abc"}),
        sensitive_parameters=encrypt_json({"token": "abc-secret"}),
        drifted=True,
        drift_checked_at=timezone.now(),
        drift_details={
            "resources": [
                {"address": "terraform_data.this", "action": "update", "attributes": ["input"]}
            ],
            "outputs": ["message"],
        },
    )
    make_run(
        resource,
        plan_summary={
            "add": 2,
            "change": 1,
            "destroy": 0,
            "resources": [{"address": "terraform_data.this", "action": "create"}],
        },
    )
    page = client_as(alice).get(f"/resources/{resource.pk}/").content.decode()
    assert MASK in page and "token-abc" not in page and "abc-secret" not in page
    assert "+2 to add" in page and "~1 to change" in page and "+ terraform_data.this" in page
    assert "Change parameters" in page and "Plan again" in page
    assert "<code>terraform_data.this</code> update: input" in page
    assert "output <code>message</code> changed" in page
    assert "Destroy" not in page and "Approve plan" not in page  # not a member's actions
    assert "Destroy" in client_as(bob).get(f"/resources/{resource.pk}/").content.decode()


def test_other_teams_pages_are_404(client_as, alice, teams, make_resource, make_run):
    theirs = make_resource(teams["search"], "search-index")
    run = make_run(theirs)
    client = client_as(alice)
    assert client.get(f"/resources/{theirs.pk}/").status_code == 404
    assert client.get(f"/resources/runs/{run.pk}/").status_code == 404
    assert client.get(f"/resources/runs/{run.pk}/log/").status_code == 404
    assert client.post(f"/resources/{theirs.pk}/approve/").status_code == 404


def test_approve_in_portal_and_refusals_shown(client_as, alice, bob, awaiting):
    own = client_as(alice).post(f"/resources/{awaiting.pk}/approve/", follow=True)
    assert "does not allow" in own.content.decode()
    assert not Approval.objects.exists()
    page = client_as(bob).get(f"/resources/{awaiting.pk}/").content.decode()
    assert "Approve plan" in page and "Reject plan" in page
    done = client_as(bob).post(f"/resources/{awaiting.pk}/approve/", follow=True)
    assert f"{awaiting.name} approved; the apply is queued." in done.content.decode()
    awaiting.refresh_from_db()
    assert awaiting.status == ResourceStatus.APPLYING
    twice = client_as(bob).post(f"/resources/{awaiting.pk}/approve/", follow=True)
    assert "not awaiting approval" in twice.content.decode()


def test_reject_without_reason_reshows_the_form(client_as, bob, awaiting):
    client = client_as(bob)
    response = client.post(f"/resources/{awaiting.pk}/reject/", {"reason": ""})
    assert response.status_code == 400
    assert re.search(
        r'class="errorlist[^"]*"[^>]*>\s*<li>This field is required', response.content.decode()
    )
    client.post(f"/resources/{awaiting.pk}/reject/", {"reason": "not now"})
    awaiting.refresh_from_db()
    assert awaiting.status == ResourceStatus.REJECTED
    assert Approval.objects.get().reason == "not now"


def test_change_parameters_form(client_as, alice, teams, make_resource):
    resource = make_resource(
        teams["payments"], "cfg", sensitive_parameters=encrypt_json({"token": "kept-s3cret"})
    )
    client = client_as(alice)
    form = client.get(f"/resources/{resource.pk}/parameters/").content.decode()
    assert "hello cfg" in form and "kept-s3cret" not in form
    # The catalog's schema form: one input per parameter, the secret as a password field.
    assert 'name="p-message"' in form and 'type="password"' in form
    url = f"/resources/{resource.pk}/parameters/"
    long = client.post(url, {"p-message": "x" * 201})
    assert long.status_code == 400
    assert re.search(r'class="errorlist[^"]*"[^>]*>\s*<li>[^<]*too long', long.content.decode())
    assert not Run.objects.exists()
    ok = client.post(url, {"p-message": "new"})
    run = Run.objects.get()
    assert ok.status_code == 302 and ok["Location"] == f"/resources/{resource.pk}/"
    assert run.parameters == {"message": "new"} and run.status == RunStatus.QUEUED


def test_destroy_and_plan_buttons_queue_runs(client_as, bob, teams, make_resource):
    resource = make_resource(teams["payments"], "cfg")
    client = client_as(bob)
    response = client.post(f"/resources/{resource.pk}/destroy/")
    run = Run.objects.get()
    assert response.status_code == 302 and run.is_destroy
    refused = client.post(f"/resources/{resource.pk}/plan/", follow=True)
    assert "busy" in refused.content.decode()
    assert client.get(f"/resources/{resource.pk}/destroy/").status_code == 405


def test_run_page_polls_the_log_until_the_run_ends(
    client_as, alice, teams, make_resource, make_run
):
    resource = make_resource(teams["payments"], "cfg")
    run = make_run(resource, kind=RunKind.APPLY, status=RunStatus.RUNNING, log=["Initializing\n"])
    client = client_as(alice)
    page = client.get(f"/resources/runs/{run.pk}/").content.decode()
    assert "Initializing" in page
    assert 'hx-trigger="every 2s"' in page
    assert f'hx-get="/resources/runs/{run.pk}/log/?offset=13"' in page
    # Nothing new yet: an empty append and the same offset.
    partial = client.get(f"/resources/runs/{run.pk}/log/?offset=13").content.decode()
    assert "beforeend:#log" not in partial and "offset=13" in partial
    Run.objects.filter(pk=run.pk).update(log_size=13 + 9)
    run.log_chunks.create(seq=1, offset=13, text="Applying\n")
    partial = client.get(f"/resources/runs/{run.pk}/log/?offset=13").content.decode()
    assert 'hx-swap-oob="beforeend:#log">Applying' in partial and "offset=22" in partial
    Run.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED, finished_at=timezone.now())
    done = client.get(f"/resources/runs/{run.pk}/log/?offset=22")
    assert done["HX-Refresh"] == "true" and "hx-trigger" not in done.content.decode()
    final = client.get(f"/resources/runs/{run.pk}/").content.decode()
    assert "hx-trigger" not in final and "Initializing\nApplying" in final


def test_log_text_is_escaped(client_as, alice, teams, make_resource, make_run):
    resource = make_resource(teams["payments"], "cfg")
    run = make_run(resource, log=["<script>alert(1)</script>\n"])
    page = client_as(alice).get(f"/resources/runs/{run.pk}/").content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


def test_service_resources_partial(client_as, alice, carol, teams, make_resource, make_service):
    checkout = make_service(teams["payments"], "checkout")
    make_resource(teams["payments"], "checkout-db", service=checkout)
    make_resource(teams["payments"], "other-db")
    html = client_as(alice).get("/resources/services/checkout/").content.decode()
    assert "checkout-db" in html and "other-db" not in html
    assert client_as(carol).get("/resources/services/checkout/").status_code == 404


def test_change_parameters_as_json_without_a_schema(
    client_as, alice, teams, template, make_resource
):
    from catalog.models import TemplateVersion

    bare = TemplateVersion.objects.create(
        template=template, number=5, content_hash="bare", files={"main.tf": ""}
    )
    resource = make_resource(teams["payments"], "bare", template_version=bare)
    client = client_as(alice)
    url = f"/resources/{resource.pk}/parameters/"
    assert 'name="parameters"' in client.get(url).content.decode()
    assert client.post(url, {"parameters": "{nope"}).status_code == 400
    assert client.post(url, {"parameters": "[1, 2]"}).status_code == 400
    assert not Run.objects.exists()
    assert client.post(url, {"parameters": '{"anything": "goes"}'}).status_code == 302
    assert Run.objects.get().parameters == {"anything": "goes"}


def test_quick_filters(client_as, alice, teams, make_resource):
    make_resource(teams["payments"], "steady")
    make_resource(teams["payments"], "changed", drifted=True)
    page = client_as(alice).get("/resources/?drifted=true").content.decode()
    assert "changed" in page and "steady" not in page


def test_upgrade_retry_and_cancel_buttons(client_as, alice, teams, template, make_resource):
    from .conftest import make_version

    resource = make_resource(teams["payments"], "cfg")
    make_version(template, 2, extra="\n# v2\n")
    client = client_as(alice)
    page = client.get(f"/resources/{resource.pk}/").content.decode()
    assert 'name="version"' in page and '<option value="2">v2</option>' in page
    assert client.post(f"/resources/{resource.pk}/upgrade/", {"version": "9"}).status_code == 302
    assert not Run.objects.exists()  # not a version of the template
    client.post(f"/resources/{resource.pk}/upgrade/", {"version": "2"})
    run = Run.objects.get()
    assert run.template_version.number == 2 and run.status == RunStatus.QUEUED
    run_page = client.get(f"/resources/runs/{run.pk}/").content.decode()
    assert "Cancel run" in run_page
    cancelled = client.post(f"/resources/runs/{run.pk}/cancel/", follow=True)
    assert f"The queued plan run {run.pk} of cfg was cancelled." in cancelled.content.decode()
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    Run.objects.update(status=RunStatus.FAILED)
    type(resource).objects.filter(pk=resource.pk).update(status=ResourceStatus.FAILED)
    assert "Retry" in client.get(f"/resources/{resource.pk}/").content.decode()
    client.post(f"/resources/{resource.pk}/retry/")
    assert Run.objects.filter(status=RunStatus.QUEUED).count() == 1


def test_list_says_about_when_its_count_is_a_minute_old(
    client_as, platform_admin, teams, make_resource, monkeypatch
):
    import idp.paginator

    monkeypatch.setattr(idp.paginator, "EXACT_COUNT_LIMIT", 1)
    monkeypatch.setattr("provisioning.views.resources.PAGE_SIZE", 1)
    client = client_as(platform_admin)
    for name in ("r-1", "r-2", "r-3"):
        make_resource(teams["payments"], name)
    first = client.get("/resources/").content.decode()
    assert "3 in all" in first and "about" not in first  # just counted
    make_resource(teams["payments"], "r-4")
    again = client.get("/resources/").content.decode()
    assert "about 3 in all" in again and "r-4" in again  # the rows are current
