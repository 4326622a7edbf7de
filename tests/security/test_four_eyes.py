"""Four eyes cannot be bypassed (finding 2), on every surface; break-glass is the one,
audited, platform-admin-only way to approve alone; several approvals mean distinct people.

The attack: a maintainer requests a prod resource, a colleague presses "Plan again", and the
maintainer approves the new plan as if it were someone else's change. Everyone who touched
the pending change (requester, change authors, re-planners) is ineligible, on the API, the
portal, Django admin, `manage.py` and the CLI alike.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from idp.choices import Role
from idp.models import AuditEvent, Environment
from provisioning import actions
from provisioning.choices import ApprovalDecision, ResourceStatus, RunKind, RunStatus
from provisioning.models import Approval
from tests.cli.conftest import one_error_line
from tests.provisioning.engine.conftest import request_module, settle
from tests.utils import assert_error

from .conftest import frozen, make_staff, portal_messages

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/provisioning/resource/"
FOUR_EYES = "four eyes"


def api_url(resource: Any, action: str = "") -> str:
    return f"/api/v1/resources/{resource.pk}/" + (f"{action}/" if action else "")


def page_url(resource: Any, action: str = "") -> str:
    return f"/resources/{resource.pk}/" + (f"{action}/" if action else "")


def awaiting(resource: Any, drive: Any) -> Any:
    """Run the queued plan and check the resource now waits for a decision. With committed
    data (the CLI's live server) a worker of the session may run the plan first: `settle`
    then waits for it."""
    settle(resource, ResourceStatus.AWAITING_APPROVAL)
    plan = resource.runs.filter(kind=RunKind.PLAN).order_by("-pk").first()
    assert plan is not None and plan.status == RunStatus.SUCCEEDED, plan and plan.error
    return resource


@pytest.fixture
def replanned(bob, alice, teams, envs, echo, state, drive, api_as) -> Any:
    """bob (maintainer) requested a prod resource; alice (member) pressed "Plan again"."""
    resource = awaiting(request_module(bob, teams["payments"], env="prod", name="db"), drive)
    response = api_as(alice).post(api_url(resource, "plan"))
    assert response.status_code == 202, response.content
    return awaiting(resource, drive)


# --- the requester of a re-planned request -----------------------------------------------


def test_requester_cannot_approve_replanned_plan_via_api(replanned, bob, api_as) -> None:
    before = frozen(replanned)
    client = api_as(bob)
    assert "approve" not in client.get(api_url(replanned)).json()["allowed_actions"]
    body = assert_error(client.post(api_url(replanned, "approve"), {"reason": "lgtm"}), 403)
    assert FOUR_EYES in str(body["detail"])
    assert_error(client.post(api_url(replanned, "reject"), {"reason": "mine"}), 403)
    assert frozen(replanned) == before


def test_requester_cannot_approve_replanned_plan_via_portal(replanned, bob, csrf_client) -> None:
    before = frozen(replanned)
    client, token = csrf_client(bob, page_url(replanned))
    response = client.post(page_url(replanned, "approve"), {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert FOUR_EYES in portal_messages(response)
    assert frozen(replanned) == before


def test_requester_cannot_approve_replanned_plan_via_admin_action(
    replanned, bob, csrf_client
) -> None:
    before = frozen(replanned)
    client, token = csrf_client(make_staff(bob), CHANGELIST)
    response = client.post(
        CHANGELIST,
        {
            "csrfmiddlewaretoken": token,
            "action": "approve_selected",
            "_selected_action": [replanned.pk],
        },
        follow=True,
    )
    page = response.content.decode()
    assert FOUR_EYES in page and "plan decided" not in page and "plans decided" not in page
    assert frozen(replanned) == before


def test_requester_cannot_approve_replanned_plan_via_manage_py(replanned, bob) -> None:
    before = frozen(replanned)
    with pytest.raises(CommandError, match="Not allowed:.*four eyes"):
        call_command("approve", str(replanned.pk), "--as", "bob")
    with pytest.raises(CommandError, match="Not allowed"):
        call_command("reject", str(replanned.pk), "--as", "bob", "--reason", "mine")
    assert frozen(replanned) == before


def test_requester_cannot_approve_replanned_plan_via_cli(replanned, bob, cli, token_for) -> None:
    before = frozen(replanned)
    result = cli("resources", "approve", str(replanned.pk), token=token_for(bob))
    assert result.exit_code == 3, (result.stdout, result.stderr)
    line = one_error_line(result)
    assert "403" in line and FOUR_EYES in line
    assert frozen(replanned) == before


def test_member_who_replanned_cannot_approve_by_role(replanned, alice, api_as) -> None:
    before = frozen(replanned)
    body = assert_error(api_as(alice).post(api_url(replanned, "approve")), 403)
    assert "role" in str(body["detail"])
    with pytest.raises(CommandError, match="Not allowed"):
        call_command("approve", str(replanned.pk), "--as", "alice")
    assert frozen(replanned) == before


def test_maintainer_who_touched_nothing_approves_the_replanned_plan(
    replanned, dave, api_as, drive
) -> None:
    client = api_as(dave)
    assert {"approve", "reject"} <= set(client.get(api_url(replanned)).json()["allowed_actions"])
    proposed = client.get(api_url(replanned)).json()["proposed"]
    assert proposed["proposed_by"] == ["alice", "bob"]
    response = client.post(api_url(replanned, "approve"), {"reason": "checked"})
    assert response.status_code == 200, response.content
    replanned.refresh_from_db()
    assert replanned.status == ResourceStatus.APPLYING
    (apply,) = drive(replanned)
    assert apply.status == RunStatus.SUCCEEDED, apply.error
    assert replanned.status == ResourceStatus.PROVISIONED


# --- a change of a provisioned resource ----------------------------------------------------


@pytest.fixture
def provisioned_prod(alice, dave, teams, envs, echo, state, drive) -> Any:
    """A prod resource alice requested and dave approved, applied."""
    resource = awaiting(request_module(alice, teams["payments"], env="prod", name="app"), drive)
    actions.approve(resource, actor=dave)
    (apply,) = drive(resource)
    assert apply.status == RunStatus.SUCCEEDED, apply.error
    assert resource.status == ResourceStatus.PROVISIONED
    return resource


@pytest.mark.slow
def test_change_author_cannot_approve_after_someone_else_replans(
    provisioned_prod, bob, alice, erin, api_as, drive
) -> None:
    resource = provisioned_prod
    response = api_as(bob).patch(
        api_url(resource), {"parameters": {"message": "bob's change"}}, format="json"
    )
    assert response.status_code == 202, response.content
    awaiting(resource, drive)
    assert api_as(alice).post(api_url(resource, "plan")).status_code == 202
    awaiting(resource, drive)

    before = frozen(resource)
    body = assert_error(api_as(bob).post(api_url(resource, "approve")), 403)
    assert FOUR_EYES in str(body["detail"])
    with pytest.raises(CommandError, match="four eyes"):
        call_command("approve", str(resource.pk), "--as", "bob")
    assert frozen(resource) == before

    # erin touched nothing: her approval applies bob's change.
    assert api_as(erin).post(api_url(resource, "approve")).status_code == 200
    drive(resource)
    assert resource.status == ResourceStatus.PROVISIONED
    assert resource.outputs["echo"] == "bob's change"


@pytest.mark.slow
def test_change_author_stays_ineligible_after_a_second_change_on_top(
    provisioned_prod, bob, alice, api_as, drive
) -> None:
    """alice's change on top of bob's pending one still carries bob's change: bob is out."""
    resource = provisioned_prod
    api_as(bob).patch(api_url(resource), {"parameters": {"message": "b"}}, format="json")
    awaiting(resource, drive)
    api_as(alice).patch(api_url(resource), {"parameters": {"message": "a"}}, format="json")
    awaiting(resource, drive)
    before = frozen(resource)
    assert_error(api_as(bob).post(api_url(resource, "approve")), 403)
    assert frozen(resource) == before


def test_destroy_requester_cannot_approve_after_someone_else_replans(
    provisioned_prod, bob, alice, erin, api_as, drive
) -> None:
    resource = provisioned_prod
    assert api_as(bob).delete(api_url(resource)).status_code == 202
    awaiting(resource, drive)
    assert api_as(alice).post(api_url(resource, "plan")).status_code == 202
    awaiting(resource, drive)
    assert resource.runs.filter(kind=RunKind.PLAN).latest("pk").is_destroy  # still a destroy
    before = frozen(resource)
    body = assert_error(api_as(bob).post(api_url(resource, "approve")), 403)
    assert FOUR_EYES in str(body["detail"])
    assert frozen(resource) == before
    assert api_as(erin).post(api_url(resource, "approve")).status_code == 200
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.DESTROYING


# --- platform admins: no self-approval, but break-glass --------------------------------------


@pytest.fixture
def admin_request(platform_admin, teams, envs, echo, state, drive) -> Any:
    """A prod resource the platform admin requested himself."""
    return awaiting(
        request_module(platform_admin, teams["payments"], env="prod", name="hotfix"), drive
    )


def assert_break_glass_recorded(resource: Any, admin: Any, reason: str) -> None:
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.APPLYING
    approval = Approval.objects.get(resource=resource)
    assert approval.break_glass is True and approval.decided_by == admin
    assert approval.reason == reason and approval.decision == ApprovalDecision.APPROVED
    event = AuditEvent.objects.get(action="resource.break_glass", target_id=str(resource.pk))
    assert event.details["reason"] == reason and event.actor_name == admin.username
    assert resource.runs.filter(kind=RunKind.APPLY, status=RunStatus.QUEUED).exists()


def test_platform_admin_cannot_approve_own_request(admin_request, platform_admin, api_as) -> None:
    before = frozen(admin_request)
    client = api_as(platform_admin)
    allowed = client.get(api_url(admin_request)).json()["allowed_actions"]
    assert "approve" not in allowed and "break_glass" in allowed
    body = assert_error(client.post(api_url(admin_request, "approve")), 403)
    assert FOUR_EYES in str(body["detail"]) and "break-glass" in str(body["detail"])
    with pytest.raises(CommandError, match="four eyes"):
        call_command("approve", str(admin_request.pk), "--as", platform_admin.username)
    assert frozen(admin_request) == before


def test_platform_admin_who_replanned_cannot_approve(
    bob, platform_admin, teams, envs, echo, state, drive, api_as
) -> None:
    resource = awaiting(request_module(bob, teams["payments"], env="prod", name="db"), drive)
    assert api_as(platform_admin).post(api_url(resource, "plan")).status_code == 202
    awaiting(resource, drive)
    before = frozen(resource)
    body = assert_error(api_as(platform_admin).post(api_url(resource, "approve")), 403)
    assert FOUR_EYES in str(body["detail"])
    assert frozen(resource) == before


def test_break_glass_via_api_is_audited_and_shown(
    admin_request, platform_admin, api_as, client_as, drive
) -> None:
    reason = "INC-42: prod outage, no second admin awake"
    client = api_as(platform_admin)
    response = client.post(api_url(admin_request, "break-glass"), {"reason": reason})
    assert response.status_code == 200, response.content
    assert response.json()["break_glass"] is True
    assert_break_glass_recorded(admin_request, platform_admin, reason)
    assert client.get(api_url(admin_request)).json()["break_glass_used"] is True
    page = client_as(platform_admin).get(page_url(admin_request)).content.decode()
    assert 'id="break-glass-mark"' in page
    (apply,) = drive(admin_request)
    assert apply.status == RunStatus.SUCCEEDED, apply.error
    assert admin_request.status == ResourceStatus.PROVISIONED


def test_break_glass_via_portal(admin_request, platform_admin, csrf_client) -> None:
    client, token = csrf_client(platform_admin, page_url(admin_request))
    response = client.post(
        page_url(admin_request, "break-glass"),
        {"csrfmiddlewaretoken": token, "reason": "portal emergency"},
    )
    assert response.status_code == 302, response.content[:500]
    assert_break_glass_recorded(admin_request, platform_admin, "portal emergency")
    assert 'id="break-glass-mark"' in client.get(page_url(admin_request)).content.decode()


def test_break_glass_via_admin_action(admin_request, platform_admin, csrf_client) -> None:
    client, token = csrf_client(make_staff(platform_admin), CHANGELIST)
    selected = {
        "csrfmiddlewaretoken": token,
        "action": "break_glass_selected",
        "_selected_action": [admin_request.pk],
    }
    ask = client.post(CHANGELIST, selected)
    assert ask.status_code == 200 and 'name="reason"' in ask.content.decode()
    assert not Approval.objects.exists()
    done = client.post(CHANGELIST, {**selected, "apply": "1", "reason": "admin emergency"})
    assert done.status_code == 302
    assert_break_glass_recorded(admin_request, platform_admin, "admin emergency")
    change = client.get(f"{CHANGELIST}{admin_request.pk}/change/").content.decode()
    shown = re.search(r'field-break_glass_used.*?<div class="readonly">(.*?)</div>', change, re.S)
    assert shown and 'alt="True"' in shown.group(1)


def test_break_glass_via_manage_py(admin_request, platform_admin) -> None:
    call_command(
        "break_glass", str(admin_request.pk), "--as", platform_admin.username, "--reason", "ops"
    )
    assert_break_glass_recorded(admin_request, platform_admin, "ops")


def test_break_glass_without_reason_is_400(
    admin_request, platform_admin, api_as, csrf_client
) -> None:
    before = frozen(admin_request)
    client = api_as(platform_admin)
    assert_error(client.post(api_url(admin_request, "break-glass"), {}), 400, "reason")
    assert_error(
        client.post(api_url(admin_request, "break-glass"), {"reason": "  "}), 400, "reason"
    )
    with pytest.raises(CommandError, match="reason"):
        call_command(
            "break_glass", str(admin_request.pk), "--as", platform_admin.username, "--reason", " "
        )
    portal, token = csrf_client(platform_admin, page_url(admin_request))
    page = portal.post(
        page_url(admin_request, "break-glass"), {"csrfmiddlewaretoken": token, "reason": " "}
    )
    assert page.status_code == 400 and "errorlist" in page.content.decode()
    admin, token = csrf_client(make_staff(platform_admin), CHANGELIST)
    asked = admin.post(
        CHANGELIST,
        {
            "csrfmiddlewaretoken": token,
            "action": "break_glass_selected",
            "_selected_action": [admin_request.pk],
            "apply": "1",
            "reason": "",
        },
    )
    assert "This field is required" in asked.content.decode()
    assert frozen(admin_request) == before


@pytest.mark.parametrize("role", [Role.MAINTAINER, Role.ADMIN])
def test_break_glass_by_non_platform_admin_is_403(
    role, make_user, teams, alice, envs, echo, state, drive, api_as, csrf_client
) -> None:
    resource = awaiting(request_module(alice, teams["payments"], env="prod", name="db"), drive)
    user = make_staff(make_user("tina", team=teams["payments"], role=role))
    before = frozen(resource)
    client = api_as(user)
    assert "break_glass" not in client.get(api_url(resource)).json()["allowed_actions"]
    assert_error(client.post(api_url(resource, "break-glass"), {"reason": "mine now"}), 403)
    with pytest.raises(CommandError, match="Not allowed"):
        call_command("break_glass", str(resource.pk), "--as", "tina", "--reason", "mine now")
    portal, token = csrf_client(user, page_url(resource))
    response = portal.post(
        page_url(resource, "break-glass"), {"csrfmiddlewaretoken": token, "reason": "mine now"}
    )
    assert response.status_code == 302 and "platform admin" in portal_messages(response)
    # Django admin does not even offer the action to a staff member who is not a platform admin.
    admin, token = csrf_client(user, CHANGELIST)
    admin.post(
        CHANGELIST,
        {
            "csrfmiddlewaretoken": token,
            "action": "break_glass_selected",
            "_selected_action": [resource.pk],
            "apply": "1",
            "reason": "mine now",
        },
    )
    assert frozen(resource) == before


# --- several approvals -----------------------------------------------------------------------


@pytest.fixture
def two_approvals(alice, teams, envs, echo, state, drive) -> Any:
    Environment.objects.filter(slug="prod").update(approvals_required=2)
    return awaiting(request_module(alice, teams["payments"], env="prod", name="db"), drive)


def test_first_of_two_approvals_keeps_the_plan_waiting(
    two_approvals, dave, erin, api_as, drive
) -> None:
    resource = two_approvals
    response = api_as(dave).post(api_url(resource, "approve"), {"reason": "one"})
    assert response.status_code == 200, response.content
    detail = api_as(dave).get(api_url(resource)).json()
    assert detail["status"] == ResourceStatus.AWAITING_APPROVAL
    assert detail["proposed"]["approval"]["approved_by"] == ["dave"]
    assert detail["proposed"]["approval"]["approvals"] == 2
    assert not resource.runs.filter(kind=RunKind.APPLY).exists()

    # The same person approving again (any surface) does not count twice.
    before = frozen(resource)
    again = api_as(dave).post(api_url(resource, "approve"))
    assert again.status_code in (403, 409), again.content
    with pytest.raises(CommandError):
        call_command("approve", str(resource.pk), "--as", "dave")
    assert frozen(resource) == before

    # A second, distinct eligible maintainer completes it.
    assert api_as(erin).post(api_url(resource, "approve")).status_code == 200
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.APPLYING
    (apply,) = drive(resource)
    assert apply.status == RunStatus.SUCCEEDED, apply.error
    assert resource.status == ResourceStatus.PROVISIONED


def test_approvals_of_an_old_plan_do_not_count_for_a_new_one(
    two_approvals, dave, erin, bob, alice, api_as, drive
) -> None:
    """dave approves, alice re-plans (a new plan file): dave's approval was for the old plan."""
    resource = two_approvals
    assert api_as(dave).post(api_url(resource, "approve")).status_code == 200
    assert api_as(alice).post(api_url(resource, "plan")).status_code == 202
    awaiting(resource, drive)
    assert api_as(erin).post(api_url(resource, "approve")).status_code == 200
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.AWAITING_APPROVAL  # one of two on this plan
    detail = api_as(erin).get(api_url(resource)).json()
    assert detail["proposed"]["approval"]["approved_by"] == ["erin"]


def test_platform_admin_approval_counts_once_not_as_override(
    two_approvals, dave, platform_admin, api_as
) -> None:
    """A platform admin's normal approval is one approval, not an override."""
    resource = two_approvals
    assert api_as(platform_admin).post(api_url(resource, "approve")).status_code == 200
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.AWAITING_APPROVAL
    assert api_as(dave).post(api_url(resource, "approve")).status_code == 200
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.APPLYING
