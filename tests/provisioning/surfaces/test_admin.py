"""Django admin: the approval queue with plan counts, approve/reject actions, runs, locks."""

from __future__ import annotations

import pytest
from django.utils import timezone

from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.models import Approval, ResourceLock, Run

CHANGELIST = "/admin/provisioning/resource/"


@pytest.fixture
def staff_bob(bob):
    bob.is_staff = True
    bob.save(update_fields=["is_staff"])
    return bob


@pytest.fixture
def awaiting(make_resource, make_run, envs, teams, alice):
    resource = make_resource(
        teams["payments"],
        "app-config",
        environment=envs["prod"],
        status=ResourceStatus.AWAITING_APPROVAL,
        requested_by=alice,
    )
    make_run(
        resource,
        created_by=alice,
        plan_hash="a" * 64,
        finished_at=timezone.now(),
        plan_summary={"add": 3, "change": 1, "destroy": 2, "resources": []},
        plan_text="Plan: 3 to add, 1 to change, 2 to destroy.",
    )
    return resource


def test_queue_shows_plan_counts_of_my_teams_only(
    client_as, staff_bob, awaiting, teams, make_resource
):
    make_resource(teams["search"], "not-bobs", status=ResourceStatus.AWAITING_APPROVAL)
    make_resource(teams["payments"], "done")
    page = client_as(staff_bob).get(f"{CHANGELIST}?queue=awaiting").content.decode()
    assert "app-config" in page and "not-bobs" not in page and ">done<" not in page
    assert '<td class="field-plan_add">3</td>' in page
    assert '<td class="field-plan_change">1</td>' in page
    assert '<td class="field-plan_destroy">2</td>' in page
    assert "Approve selected plans" in page and "Reject selected plans" in page


def test_approve_action_calls_the_service(client_as, staff_bob, awaiting):
    response = client_as(staff_bob).post(
        CHANGELIST,
        {"action": "approve_selected", "_selected_action": [awaiting.pk]},
        follow=True,
    )
    assert "1 plan decided." in response.content.decode()
    awaiting.refresh_from_db()
    assert awaiting.status == ResourceStatus.APPLYING
    assert Approval.objects.get().decided_by == staff_bob
    assert Run.objects.filter(resource=awaiting, kind=RunKind.APPLY).exists()


def test_approving_own_request_in_admin_is_refused(client_as, make_user, teams, awaiting, alice):
    alice.is_staff = True
    alice.save(update_fields=["is_staff"])
    response = client_as(alice).post(
        CHANGELIST,
        {"action": "approve_selected", "_selected_action": [awaiting.pk]},
        follow=True,
    )
    assert "does not allow" in response.content.decode()
    assert not Approval.objects.exists()


def test_reject_action_asks_for_a_reason(client_as, staff_bob, awaiting):
    client = client_as(staff_bob)
    ask = client.post(CHANGELIST, {"action": "reject_selected", "_selected_action": [awaiting.pk]})
    assert ask.status_code == 200 and 'name="reason"' in ask.content.decode()
    empty = client.post(
        CHANGELIST,
        {"action": "reject_selected", "_selected_action": [awaiting.pk], "apply": "1"},
    )
    assert "This field is required" in empty.content.decode()
    assert not Approval.objects.exists()
    client.post(
        CHANGELIST,
        {
            "action": "reject_selected",
            "_selected_action": [awaiting.pk],
            "apply": "1",
            "reason": "wrong account",
        },
    )
    awaiting.refresh_from_db()
    assert awaiting.status == ResourceStatus.REJECTED
    assert Approval.objects.get().reason == "wrong account"


def test_run_and_approval_pages_are_read_only(client_as, platform_admin, awaiting):
    platform_admin.is_staff = True
    platform_admin.save(update_fields=["is_staff"])
    client = client_as(platform_admin)
    run = awaiting.runs.get()
    run.log_chunks.create(seq=0, offset=0, text="Terraform planned\n")
    page = client.get(f"/admin/provisioning/run/{run.pk}/change/").content.decode()
    assert "Terraform planned" in page and 'name="_save"' not in page
    assert client.get("/admin/provisioning/approval/").status_code == 200
    detail = client.get(f"/admin/provisioning/resource/{awaiting.pk}/change/")
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()


def test_unlock_action_clears_the_lock(
    aws, client_as, platform_admin, teams, make_resource, make_run
):
    platform_admin.is_staff = True
    platform_admin.save(update_fields=["is_staff"])
    resource = make_resource(teams["payments"], "stuck")
    run = make_run(resource, status=RunStatus.FAILED)
    lock = ResourceLock.objects.create(resource=resource, run=run)
    response = client_as(platform_admin).post(
        "/admin/provisioning/resourcelock/",
        {"action": "unlock_selected", "_selected_action": [lock.pk]},
        follow=True,
    )
    # The action's outcome, as is (the apostrophe after it is escaped in HTML).
    assert f"Unlocked {resource}: removed the platform" in response.content.decode()
    assert not ResourceLock.objects.exists()
