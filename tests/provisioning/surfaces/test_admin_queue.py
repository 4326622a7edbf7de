"""Django admin: the queue of plans awaiting my decision, and a resource's page with its
latest plan (diff, counts, cost, approvals) and approve/reject naming exactly that plan."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from provisioning.choices import ResourceStatus, RunKind
from provisioning.models import Approval, Run

CHANGELIST = "/admin/provisioning/resource/"
QUEUE = f"{CHANGELIST}approvals/"
NEEDS_ONE = {
    "approvals": 1,
    "platform_admin": False,
    "reasons": ["prod requires 1 approval"],
    "estimated_monthly_cost": "6.00",
}
CHANGES = {
    "resources": [
        {
            "address": "terraform_data.this",
            "action": "update",
            "replace_paths": [],
            "after_unknown": [],
            "changed": ["input"],
            "attributes": [
                {
                    "name": "input",
                    "before": "hello",
                    "after": "changed",
                    "changed": True,
                    "unknown": False,
                    "sensitive": False,
                    "forces_replacement": False,
                }
            ],
        }
    ],
    "outputs": [],
}


def staff(user: Any) -> Any:
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


@pytest.fixture
def plan(make_resource, make_run, envs, teams, alice) -> Run:
    resource = make_resource(
        teams["payments"],
        "app-config",
        environment=envs["prod"],
        status=ResourceStatus.AWAITING_APPROVAL,
        requested_by=alice,
    )
    return make_run(
        resource,
        created_by=alice,
        plan_hash="a" * 64,
        finished_at=timezone.now(),
        plan_summary={"add": 0, "change": 1, "destroy": 0, "resources": []},
        plan_changes=CHANGES,
        approval_requirement=NEEDS_ONE,
    )


def change_page(resource_id: int) -> str:
    return f"{CHANGELIST}{resource_id}/change/"


def test_queue_lists_what_awaits_me(client_as, plan, alice, bob, carol):
    page = client_as(staff(bob)).get(QUEUE).content.decode()
    assert f'data-plan-run="{plan.pk}"' in page and "app-config" in page and "$6.00" in page
    changelist = client_as(bob).get(CHANGELIST).content.decode()
    assert "Plans awaiting your decision (1)" in changelist
    for user in (alice, carol):
        page = client_as(staff(user)).get(QUEUE).content.decode()
        assert "queue-item" not in page and "Nothing awaits your decision." in page


def test_queue_needs_staff(client_as, plan, bob):
    response = client_as(bob).get(QUEUE)  # not staff: admin's sign-in page
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_change_page_shows_the_plan_and_approves_exactly_it(client_as, plan, bob):
    client = client_as(staff(bob))
    page = client.get(change_page(plan.resource_id)).content.decode()
    assert f"Plan awaiting approval: run #{plan.pk}" in page
    assert "<strong>1</strong> to change" in page
    assert 'data-address="terraform_data.this"' in page and "changed" in page
    assert "$6.00" in page and "prod requires 1 approval" in page
    assert "0 of 1" in page and "may decide on this plan" in page
    assert f'value="Approve plan run #{plan.pk}"' in page
    response = client.post(
        f"{CHANGELIST}{plan.resource_id}/decide/",
        {"plan_run": plan.pk, "decision": "approve", "reason": "ok"},
        follow=True,
    )
    # The decision's message as is (the admin capitalises its first letter).
    assert "App-config approved; the apply is queued." in response.content.decode()
    approval = Approval.objects.get()
    assert (approval.run_id, approval.decided_by, approval.reason) == (plan.pk, bob, "ok")
    assert Run.objects.filter(resource=plan.resource, kind=RunKind.APPLY).exists()


def test_reject_needs_a_reason_and_lands_on_the_plan_shown(client_as, plan, make_run, alice, bob):
    client = client_as(staff(bob))
    url = f"{CHANGELIST}{plan.resource_id}/decide/"
    page = client.post(url, {"plan_run": plan.pk, "decision": "reject"}, follow=True)
    assert "Give a reason for the rejection" in page.content.decode()
    newer = make_run(
        plan.resource, created_by=alice, plan_hash="b" * 64, finished_at=timezone.now()
    )
    page = client.post(
        url, {"plan_run": plan.pk, "decision": "reject", "reason": "no"}, follow=True
    )
    assert f"Plan run {plan.pk} is no longer the one awaiting approval" in page.content.decode()
    page = client.post(
        url, {"plan_run": newer.pk, "decision": "reject", "reason": "no"}, follow=True
    )
    rejected = "The plan of app-config was rejected; its change was discarded."
    assert rejected in page.content.decode()
    plan.resource.refresh_from_db()
    assert plan.resource.status == ResourceStatus.REJECTED
    assert Approval.objects.get().run_id == newer.pk


def test_the_requester_sees_the_plan_but_no_buttons(client_as, plan, alice):
    client = client_as(staff(alice))
    page = client.get(change_page(plan.resource_id)).content.decode()
    assert 'data-address="terraform_data.this"' in page
    assert "does not allow you to approve plans" in page
    assert "Approve plan run" not in page
    response = client.post(
        f"{CHANGELIST}{plan.resource_id}/decide/",
        {"plan_run": plan.pk, "decision": "approve"},
        follow=True,
    )
    assert "does not allow you to approve plans" in response.content.decode()
    assert not Approval.objects.exists()


def test_a_maintainers_own_request_is_refused_in_page_and_list_action(
    client_as, make_resource, make_run, envs, teams, bob
):
    resource = make_resource(
        teams["payments"],
        "bobs-own",
        environment=envs["prod"],
        status=ResourceStatus.AWAITING_APPROVAL,
        requested_by=bob,
    )
    own = make_run(
        resource,
        created_by=bob,
        plan_hash="c" * 64,
        finished_at=timezone.now(),
        approval_requirement=NEEDS_ONE,
    )
    client = client_as(staff(bob))
    page = client.get(change_page(resource.pk)).content.decode()
    assert "four eyes" in page and "Approve plan run" not in page
    response = client.post(
        f"{CHANGELIST}{resource.pk}/decide/",
        {"plan_run": own.pk, "decision": "approve"},
        follow=True,
    )
    assert "four eyes" in response.content.decode()
    response = client.post(
        CHANGELIST, {"action": "approve_selected", "_selected_action": [resource.pk]}, follow=True
    )
    assert "four eyes" in response.content.decode()
    assert not Approval.objects.exists()


def test_another_teams_resource_is_not_found(client_as, plan, carol):
    client = client_as(staff(carol))
    assert client.get(change_page(plan.resource_id)).status_code in (302, 404)
    response = client.post(
        f"{CHANGELIST}{plan.resource_id}/decide/", {"plan_run": plan.pk, "decision": "approve"}
    )
    assert response.status_code == 404
    assert not Approval.objects.exists()


def test_decide_is_post_only(client_as, plan, bob):
    assert client_as(staff(bob)).get(f"{CHANGELIST}{plan.resource_id}/decide/").status_code == 405
