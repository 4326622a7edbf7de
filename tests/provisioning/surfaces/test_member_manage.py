"""Members manage what they own: destroy where the environment allows it, archive requests
that came to nothing. Through the API and the portal (no worker: queued runs stay queued;
the browser journey in tests/browser/test_member_destroy.py runs real Terraform)."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from idp import services as idp_services
from idp.models import AuditEvent, Environment
from provisioning import actions
from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.models import Resource, Run
from tests.utils import assert_error, assert_ok


@pytest.fixture
def sandbox(envs: dict[str, Environment]) -> Environment:
    """Where members clean up after themselves (as the data migration sets sandbox and dev)."""
    return idp_services.upsert_environment(
        "sandbox", name="Sandbox", order=0, members_may_destroy=True
    )


@pytest.fixture
def applied(make_resource: Any, teams: dict, sandbox: Environment, alice: Any) -> Resource:
    """alice's provisioned sandbox resource."""
    return make_resource(
        teams["payments"],
        "scratch",
        environment=sandbox,
        requested_by=alice,
        provisioned_at=timezone.now(),
    )


def awaiting_first(make_resource: Any, make_run: Any, team: Any, env: Any, by: Any) -> Resource:
    """A first request whose plan waits for approval: nothing was ever applied."""
    resource = make_resource(
        team, "new-thing", environment=env, status=ResourceStatus.AWAITING_APPROVAL, requested_by=by
    )
    make_run(resource, created_by=by, plan_hash="c" * 64, finished_at=timezone.now())
    return resource


def url(resource: Resource, action: str = "") -> str:
    return f"/api/v1/resources/{resource.pk}/" + (f"{action}/" if action else "")


def events(action: str, resource: Resource) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, target_id=str(resource.pk)))


# --- member destroy ------------------------------------------------------------------------


def test_member_destroys_in_sandbox_through_the_api(api_as, alice, applied):
    api = api_as(alice)
    assert "destroy" in assert_ok(api.get(url(applied)))["allowed_actions"]
    run = assert_ok(api.delete(url(applied)), 202)
    assert run["is_destroy"] is True and run["kind"] == "plan" and run["created_by"] == "alice"
    applied.refresh_from_db()
    assert applied.status == ResourceStatus.DESTROYING
    [event] = events("resource.destroy_requested", applied)
    assert event.actor_name == "alice"


def test_member_destroys_in_dev_once_its_policy_allows_it(
    client_as, alice, teams, envs, make_resource
):
    resource = make_resource(teams["payments"], "cfg", provisioned_at=timezone.now())
    client = client_as(alice)
    page = client.get(f"/resources/{resource.pk}/").content.decode()
    assert "resource_destroy" not in page and f"/resources/{resource.pk}/destroy/" not in page
    refused = client.post(f"/resources/{resource.pk}/destroy/", follow=True)
    assert "In dev only maintainers of payments may destroy resources" in refused.content.decode()
    assert not Run.objects.exists()

    idp_services.upsert_environment("dev", members_may_destroy=True)
    page = client.get(f"/resources/{resource.pk}/").content.decode()
    assert f"/resources/{resource.pk}/destroy/" in page
    response = client.post(f"/resources/{resource.pk}/destroy/")
    run = Run.objects.get()
    # The resource's page follows: it shows the destroy plan, then the destroy.
    assert response.status_code == 302 and response["Location"] == f"/resources/{resource.pk}/"
    assert run.is_destroy and run.created_by == alice


def test_member_is_refused_in_prod_with_a_clear_message(
    api_as, alice, bob, teams, envs, make_resource
):
    resource = make_resource(
        teams["payments"], "prod-cfg", environment=envs["prod"], provisioned_at=timezone.now()
    )
    body = assert_error(api_as(alice).delete(url(resource)), 403)
    assert body["detail"] == (
        "In prod only maintainers of payments may destroy resources; ask one of them"
    )
    assert "destroy" not in assert_ok(api_as(alice).get(url(resource)))["allowed_actions"]
    assert not Run.objects.exists()
    # A maintainer may, in every environment.
    assert "destroy" in assert_ok(api_as(bob).get(url(resource)))["allowed_actions"]
    assert_ok(api_as(bob).delete(url(resource)), 202)


def test_viewer_never_destroys(api_as, client_as, viewer, applied):
    body = assert_error(api_as(viewer).delete(url(applied)), 403)
    assert "does not allow you to destroy" in body["detail"]
    assert assert_ok(api_as(viewer).get(url(applied)))["allowed_actions"] == []
    client_as(viewer).post(f"/resources/{applied.pk}/destroy/")
    applied.refresh_from_db()
    assert applied.status == ResourceStatus.PROVISIONED and not Run.objects.exists()


def test_another_team_gets_404_everywhere(api_as, client_as, carol, applied, make_resource, teams):
    failed = make_resource(teams["payments"], "broken", status=ResourceStatus.FAILED)
    api = api_as(carol)
    assert_error(api.delete(url(applied)), 404)
    assert_error(api.post(url(failed, "archive")), 404)
    assert_error(api.post(url(failed, "unarchive")), 404)
    client = client_as(carol)
    assert client.post(f"/resources/{applied.pk}/destroy/").status_code == 404
    assert client.post(f"/resources/{failed.pk}/archive/").status_code == 404
    assert client.post(f"/resources/{failed.pk}/unarchive/").status_code == 404
    applied.refresh_from_db()
    failed.refresh_from_db()
    assert applied.status == ResourceStatus.PROVISIONED and failed.archived_at is None
    assert not Run.objects.exists()


def test_a_never_applied_request_offers_approve_never_destroy(
    api_as, client_as, alice, bob, teams, envs, make_resource, make_run
):
    resource = awaiting_first(make_resource, make_run, teams["payments"], envs["prod"], alice)
    detail = assert_ok(api_as(bob).get(url(resource)))
    assert {"approve", "reject", "withdraw"} <= set(detail["allowed_actions"])
    assert "destroy" not in detail["allowed_actions"]
    page = client_as(bob).get(f"/resources/{resource.pk}/").content.decode()
    assert "Approve plan" in page and f"/resources/{resource.pk}/destroy/" not in page
    assert_error(api_as(alice).delete(url(resource)), 403)  # a member, in prod
    body = assert_error(api_as(bob).delete(url(resource)), 409)
    assert "withdraw or reject it instead" in body["detail"]
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.AWAITING_APPROVAL
    assert Run.objects.filter(resource=resource).count() == 1


def test_a_failed_request_is_archived_not_destroyed(api_as, bob, teams, make_resource, make_run):
    failed = make_resource(teams["payments"], "broken", status=ResourceStatus.FAILED)
    make_run(failed, status=RunStatus.FAILED, error="boom")
    detail = assert_ok(api_as(bob).get(url(failed)))
    assert "destroy" not in detail["allowed_actions"]
    assert {"archive", "retry"} <= set(detail["allowed_actions"])
    body = assert_error(api_as(bob).delete(url(failed)), 409)
    assert "nothing to destroy; archive it instead" in body["detail"]


def test_a_failed_first_apply_may_have_left_objects_so_it_is_destroyed_not_archived(
    api_as, alice, teams, sandbox, make_resource, make_run
):
    partial = make_resource(
        teams["payments"], "half-made", environment=sandbox, status=ResourceStatus.FAILED
    )
    make_run(partial, kind=RunKind.APPLY, status=RunStatus.FAILED, started_at=timezone.now())
    detail = assert_ok(api_as(alice).get(url(partial)))
    assert "destroy" in detail["allowed_actions"] and "archive" not in detail["allowed_actions"]
    body = assert_error(api_as(alice).post(url(partial, "archive")), 409)
    assert "destroy it instead" in body["detail"]
    assert_ok(api_as(alice).delete(url(partial)), 202)


def test_the_action_and_allowed_actions_ask_the_same_rule(
    alice, bob, viewer, carol, teams, envs, sandbox, make_resource, make_run
):
    """Every (user, resource) pair: `destroy` is offered exactly when the action accepts."""
    payments = teams["payments"]
    now = timezone.now()
    resources = [
        make_resource(payments, "a", environment=sandbox, provisioned_at=now),
        make_resource(payments, "b", environment=envs["prod"], provisioned_at=now),
        make_resource(payments, "c", status=ResourceStatus.FAILED),
        make_resource(payments, "d", status=ResourceStatus.REJECTED),
        make_resource(payments, "e", environment=sandbox, status=ResourceStatus.PENDING),
        awaiting_first(make_resource, make_run, payments, sandbox, alice),
    ]
    for user in (alice, bob, viewer, carol):
        for resource in resources:
            offered = "destroy" in actions.allowed_actions(resource, user)
            try:
                actions.request_destroy(resource, actor=user)
            except idp_services.ServiceError:
                accepted = False
            else:
                accepted = True
                Run.objects.filter(resource=resource).delete()
                Resource.objects.filter(pk=resource.pk).update(status=resource.status)
            resource.refresh_from_db()
            assert offered == accepted, (user.username, resource.name)
    assert actions.allowed_actions(resources[0], alice) >= {"destroy"}


# --- archive ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [ResourceStatus.FAILED, ResourceStatus.REJECTED])
def test_member_archives_a_failed_or_rejected_request(api_as, alice, teams, make_resource, status):
    resource = make_resource(teams["payments"], "gone-wrong", status=status)
    api = api_as(alice)
    assert "archive" in assert_ok(api.get(url(resource)))["allowed_actions"]
    body = assert_ok(api.post(url(resource, "archive")))
    assert body["status"] == status and body["allowed_actions"] == ["unarchive"]
    resource.refresh_from_db()
    assert resource.archived_at is not None and resource.status == status
    [event] = events("resource.archived", resource)
    assert event.actor_name == "alice" and event.details["status"] == status
    assert event.team_id == teams["payments"].pk
    again = assert_error(api.post(url(resource, "archive")), 409)
    assert again["detail"] == "The resource is already archived"
    # Nothing runs on it while it is put away.
    assert_error(api.post(url(resource, "retry")), 409)

    body = assert_ok(api.post(url(resource, "unarchive")))
    assert "archive" in body["allowed_actions"]
    resource.refresh_from_db()
    assert resource.archived_at is None
    assert events("resource.unarchived", resource)[0].actor_name == "alice"
    assert_error(api.post(url(resource, "unarchive")), 409)


@pytest.mark.parametrize(
    "status",
    [
        ResourceStatus.PROVISIONED,
        ResourceStatus.AWAITING_APPROVAL,
        ResourceStatus.PENDING,
        ResourceStatus.DESTROYED,
    ],
)
def test_archive_is_refused_for_other_statuses(api_as, bob, teams, make_resource, status):
    resource = make_resource(teams["payments"], "live-one", status=status)
    body = assert_error(api_as(bob).post(url(resource, "archive")), 409)
    assert "Only a failed or rejected request can be archived" in body["detail"]
    resource.refresh_from_db()
    assert resource.archived_at is None and not events("resource.archived", resource)


def test_a_failed_change_of_a_provisioned_resource_is_not_archived(
    api_as, bob, teams, make_resource
):
    resource = make_resource(
        teams["payments"], "was-live", status=ResourceStatus.FAILED, provisioned_at=timezone.now()
    )
    body = assert_error(api_as(bob).post(url(resource, "archive")), 409)
    assert "would hide real infrastructure" in body["detail"]


def test_viewer_cannot_archive_or_unarchive(api_as, client_as, viewer, teams, make_resource):
    failed = make_resource(teams["payments"], "broken", status=ResourceStatus.FAILED)
    assert_error(api_as(viewer).post(url(failed, "archive")), 403)
    client_as(viewer).post(f"/resources/{failed.pk}/archive/")
    failed.refresh_from_db()
    assert failed.archived_at is None
    Resource.objects.filter(pk=failed.pk).update(archived_at=timezone.now())
    assert_error(api_as(viewer).post(url(failed, "unarchive")), 403)
    assert Resource.objects.get(pk=failed.pk).archived_at is not None


def test_archived_resources_leave_the_lists_but_stay_reachable(
    api_as, client_as, alice, teams, make_resource
):
    kept = make_resource(teams["payments"], "kept")
    failed = make_resource(teams["payments"], "broken", status=ResourceStatus.FAILED)
    api = api_as(alice)
    assert_ok(api.post(url(failed, "archive")))

    names = [r["name"] for r in assert_ok(api.get("/api/v1/resources/"))["results"]]
    assert names == ["kept"]
    failed_only = assert_ok(api.get("/api/v1/resources/?status=failed"))["results"]
    assert failed_only == []
    archived = assert_ok(api.get("/api/v1/resources/?archived=true"))["results"]
    assert [r["name"] for r in archived] == ["broken"]
    live = assert_ok(api.get("/api/v1/resources/?archived=false"))["results"]
    assert [r["name"] for r in live] == ["kept"]
    assert assert_ok(api.get(url(failed)))["name"] == "broken"  # by id, still there

    client = client_as(alice)
    page = client.get("/resources/").content.decode()
    assert ">kept<" in page and ">broken<" not in page
    assert ">broken<" not in client.get("/resources/?team=payments").content.decode()
    shown = client.get("/resources/?archived=true").content.decode()
    assert ">broken<" in shown and ">kept<" not in shown
    assert "Archived resources" in shown and 'name="archived" value="true" checked' in shown
    # The toolbar's own submit ("All" is an empty value) filters without complaint.
    submitted = client.get(
        "/resources/?q=&team=&environment=&template=&status=&service=&archived=true"
    ).content.decode()
    assert ">broken<" in submitted and "Select a valid choice" not in submitted
    assert client.get(f"/resources/{failed.pk}/").status_code == 200
    assert kept.archived_at is None


def test_portal_archive_and_unarchive(client_as, alice, teams, make_resource):
    failed = make_resource(teams["payments"], "broken", status=ResourceStatus.FAILED)
    client = client_as(alice)
    assert client.get(f"/resources/{failed.pk}/archive/").status_code == 405
    response = client.post(f"/resources/{failed.pk}/archive/", follow=True)
    assert response.redirect_chain[-1][0] == "/resources/"
    assert "broken is archived" in response.content.decode()
    failed.refresh_from_db()
    assert failed.archived_at is not None
    refused = client.post(f"/resources/{failed.pk}/archive/", follow=True)
    assert "already archived" in refused.content.decode()
    back = client.post(f"/resources/{failed.pk}/unarchive/", follow=True)
    assert back.redirect_chain[-1][0] == f"/resources/{failed.pk}/"
    assert "broken is back in the lists" in back.content.decode()
    failed.refresh_from_db()
    assert failed.archived_at is None
    recorded = AuditEvent.objects.filter(
        action__startswith="resource.", target_id=str(failed.pk)
    ).order_by("pk")
    assert [e.action for e in recorded] == ["resource.archived", "resource.unarchived"]


def test_names_of_archived_requests(api_as, alice, teams, envs, template, make_resource):
    """The name rule is the model's `unique_live_resource_name`: a rejected (or withdrawn)
    request frees its name, archived or not; a failed one keeps it, archived or not."""
    rejected = make_resource(teams["payments"], "reused", status=ResourceStatus.REJECTED)
    failed = make_resource(teams["payments"], "held", status=ResourceStatus.FAILED)
    api = api_as(alice)
    assert_ok(api.post(url(rejected, "archive")))
    assert_ok(api.post(url(failed, "archive")))
    request = {"template": "example-config", "team": "payments", "environment": "dev"}
    params = {"parameters": {"message": "again"}}
    assert_ok(
        api.post("/api/v1/resources/", {**request, "name": "reused", **params}, format="json"), 201
    )
    assert_error(
        api.post("/api/v1/resources/", {**request, "name": "held", **params}, format="json"),
        409,
        "name",
    )


def test_environments_show_their_destroy_policy(api_as, client_as, alice, make_user, envs):
    listed = {e["slug"]: e for e in assert_ok(api_as(alice).get("/api/v1/environments/"))}
    assert listed["dev"]["members_may_destroy"] is False

    client = client_as(make_user("root", is_staff=True, is_superuser=True))
    dev = envs["dev"]
    change = f"/admin/idp/environment/{dev.pk}/change/"
    assert 'name="members_may_destroy"' in client.get(change).content.decode()
    form = {
        "name": dev.name,
        "description": "",
        "order": dev.order,
        "aws_account_id": "",
        "aws_region": dev.aws_region,
        "aws_role_arn": "",
        "aws_endpoint_url": "",
        "approvals_required": 1,
        "approver_role": "maintainer",
        "over_budget_platform_admin": "on",
        "allows_ttl": "on",
        "members_may_destroy": "on",
        "state_locking": "s3_lockfile",
    }
    assert client.post(change, form).status_code == 302
    dev.refresh_from_db()
    assert dev.members_may_destroy is True and dev.allows_ttl is True
    event = AuditEvent.objects.get(action="environment.updated", target_id=str(dev.pk))
    assert event.details == {"members_may_destroy": "True"}
    assert assert_ok(api_as(alice).get("/api/v1/environments/dev/"))["members_may_destroy"] is True
