"""Every plan is judged by the same gates: the budget gate on each plan (finding 4), the
environment's approval floor that no template lowers (finding 5), one name rule with one
message on every surface (finding 6), and list filters that refuse junk ids (400)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from idp.models import Environment
from provisioning import actions
from provisioning.actions.rules import NAME_RULE
from provisioning.approval_policy import MAX_APPROVALS, ApprovalPolicy
from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.models import Resource
from tests.provisioning.engine.conftest import register_module, request_module
from tests.utils import assert_error

from .conftest import frozen, portal_messages

pytestmark = pytest.mark.django_db

# One dollar a month per unit of `message`: the echo module's message doubles as a size.
PER_MESSAGE_UNIT = {"per_unit": [{"parameter": "message", "usd_per_unit": 1}]}


def api_url(resource: Any, action: str = "") -> str:
    return f"/api/v1/resources/{resource.pk}/" + (f"{action}/" if action else "")


def settle(resource: Any, drive: Any, status: str) -> list[Any]:
    runs = drive(resource)
    assert resource.status == status, (resource.last_error, [(r.kind, r.error) for r in runs])
    return runs


def newest_plan(resource: Any) -> Any:
    return resource.runs.filter(kind=RunKind.PLAN).latest("pk")


# --- the budget gate asks about every plan ---------------------------------------------------


@pytest.fixture
def priced(teams, envs, state) -> Any:
    """The echo module with cost hints, and a 5 USD budget for payments (no spend yet)."""
    from monitoring.models import Budget

    Budget.objects.create(team=teams["payments"], monthly_amount=Decimal("5"))
    return register_module("tf_echo", cost_hints=PER_MESSAGE_UNIT)


@pytest.fixture
def cheap_in_dev(priced, alice, teams, drive) -> Any:
    """A dev resource whose estimate (2 USD) fits the budget: applied without approval."""
    resource = request_module(alice, teams["payments"], env="dev", name="cfg", message="2")
    plan, apply = settle(resource, drive, ResourceStatus.PROVISIONED)
    assert plan.approval_requirement["platform_admin"] is False
    assert plan.approval_requirement["needed"] is False
    assert plan.approval_requirement["estimated_monthly_cost"] == "2.00"
    assert apply.kind == RunKind.APPLY and apply.status == RunStatus.SUCCEEDED
    return resource


def test_request_within_budget_needs_no_platform_admin_in_dev(cheap_in_dev) -> None:
    assert cheap_in_dev.requires_platform_admin is False
    assert not cheap_in_dev.approvals.exists()


def test_change_over_budget_needs_platform_admin_even_in_dev(
    cheap_in_dev, alice, bob, platform_admin, api_as, csrf_client, drive
) -> None:
    resource = cheap_in_dev
    response = api_as(alice).patch(
        api_url(resource), {"parameters": {"message": "100"}}, format="json"
    )
    assert response.status_code == 202, response.content
    settle(resource, drive, ResourceStatus.AWAITING_APPROVAL)  # dev, yet it waits
    requirement = newest_plan(resource).approval_requirement
    assert requirement["platform_admin"] is True and requirement["approvals"] >= 1
    assert requirement["estimated_monthly_cost"] == "100.00"
    assert any("budget" in reason for reason in requirement["reasons"])
    assert not resource.runs.filter(kind=RunKind.APPLY, status=RunStatus.QUEUED).exists()

    # bob maintains the team, but this plan is a platform admin's decision: on every surface.
    before = frozen(resource)
    detail = api_as(bob).get(api_url(resource)).json()
    assert "approve" not in detail["allowed_actions"]
    assert detail["proposed"]["approval"]["platform_admin"] is True
    body = assert_error(api_as(bob).post(api_url(resource, "approve")), 403)
    assert "platform admin" in str(body["detail"])
    with pytest.raises(CommandError, match="platform admin"):
        call_command("approve", str(resource.pk), "--as", "bob")
    portal, token = csrf_client(bob, f"/resources/{resource.pk}/")
    refused = portal.post(f"/resources/{resource.pk}/approve/", {"csrfmiddlewaretoken": token})
    assert "platform admin" in portal_messages(refused)
    assert frozen(resource) == before

    assert api_as(platform_admin).post(api_url(resource, "approve")).status_code == 200
    settle(resource, drive, ResourceStatus.PROVISIONED)
    assert resource.outputs["echo"] == "100"
    assert resource.estimated_monthly_cost == Decimal("100.00")


def test_change_within_budget_after_spend_grew_needs_platform_admin(
    cheap_in_dev, alice, bob, teams, api_as, drive
) -> None:
    """The gate looks at each plan with the forecast of its day, not the one of the request."""
    from monitoring.models import CostRecord

    CostRecord.objects.create(team=teams["payments"], date=timezone.now().date(), amount=50)
    api_as(alice).patch(api_url(cheap_in_dev), {"parameters": {"message": "3"}}, format="json")
    settle(cheap_in_dev, drive, ResourceStatus.AWAITING_APPROVAL)
    assert newest_plan(cheap_in_dev).approval_requirement["platform_admin"] is True
    before = frozen(cheap_in_dev)
    assert_error(api_as(bob).post(api_url(cheap_in_dev, "approve")), 403)
    assert frozen(cheap_in_dev) == before


def test_replanned_over_budget_change_stays_gated(cheap_in_dev, alice, bob, api_as, drive) -> None:
    """Planning the over-budget change again does not launder it past the gate."""
    api_as(alice).patch(api_url(cheap_in_dev), {"parameters": {"message": "100"}}, format="json")
    settle(cheap_in_dev, drive, ResourceStatus.AWAITING_APPROVAL)
    assert api_as(bob).post(api_url(cheap_in_dev, "plan")).status_code == 202
    settle(cheap_in_dev, drive, ResourceStatus.AWAITING_APPROVAL)
    assert newest_plan(cheap_in_dev).approval_requirement["platform_admin"] is True


def test_destroy_while_over_budget_is_not_gated_in_dev(
    cheap_in_dev, bob, teams, api_as, drive
) -> None:
    """Destroying lowers the spend: the budget gate has no reason to stop it in dev."""
    from monitoring.models import CostRecord

    CostRecord.objects.create(team=teams["payments"], date=timezone.now().date(), amount=50)
    assert api_as(bob).delete(api_url(cheap_in_dev)).status_code == 202
    runs = drive(cheap_in_dev)
    plan = runs[0]
    assert plan.is_destroy and plan.approval_requirement["platform_admin"] is False, (
        plan.approval_requirement
    )
    assert cheap_in_dev.status == ResourceStatus.DESTROYED


# --- a template adds requirements, never removes them ----------------------------------------


FLOOR_CASES = [
    # (environment, its approvals_required, template policy, approvals, platform admin)
    ("prod", 1, {"prod": "none"}, 1, False),
    ("prod", 1, {"prod": 0}, 1, False),
    ("prod", 1, {"prod": -2}, 1, False),
    ("prod", 1, {"prod": False}, 1, False),
    ("prod", 1, {"prod": "required"}, 1, False),
    ("prod", 2, {"prod": "none"}, 2, False),
    ("prod", 2, {"prod": 1}, 2, False),
    ("prod", 2, {"prod": "required"}, 2, False),
    ("prod", 1, {"prod": 3}, 3, False),
    ("prod", 1, {"prod": 99}, MAX_APPROVALS, False),
    ("prod", 3, {"prod": "admin"}, 3, True),
    ("prod", 1, {"dev": "none", "prod": "none"}, 1, False),
    ("dev", 1, {"dev": "admin"}, 1, True),
    ("dev", 1, {"dev": "required"}, 1, False),
    ("dev", 1, {"dev": 2}, 2, False),
    ("dev", 1, {"dev": "none"}, 0, False),
    ("dev", 1, {"prod": "admin"}, 0, False),
    ("dev", 1, {}, 0, False),
]


@pytest.mark.parametrize(("env", "floor", "policy", "approvals", "admin"), FLOOR_CASES)
def test_template_policy_never_lowers_the_environment_floor(
    env, floor, policy, approvals, admin, envs, teams
) -> None:
    environment = envs[env]
    Environment.objects.filter(pk=environment.pk).update(approvals_required=floor)
    environment.refresh_from_db()
    version = register_module("tf_echo", approval_policy=policy)
    resource = Resource(team=teams["payments"], environment=environment, template_version=version)
    requirement = ApprovalPolicy(environment).requirement(resource, version, {"message": "x"})
    assert (requirement.approvals, requirement.platform_admin) == (approvals, admin), requirement


def test_template_none_in_prod_still_waits_for_approval(
    alice, bob, teams, envs, state, drive
) -> None:
    register_module("tf_echo", approval_policy={"prod": "none"})
    resource = request_module(alice, teams["payments"], env="prod", name="db")
    settle(resource, drive, ResourceStatus.AWAITING_APPROVAL)
    assert newest_plan(resource).approval_requirement["approvals"] == 1
    assert not resource.runs.filter(kind=RunKind.APPLY).exists()
    actions.approve(resource, actor=bob)
    settle(resource, drive, ResourceStatus.PROVISIONED)


def test_template_admin_in_dev_needs_a_platform_admin(
    alice, bob, platform_admin, teams, envs, state, drive, api_as
) -> None:
    register_module("tf_echo", approval_policy={"dev": "admin"})
    resource = request_module(alice, teams["payments"], env="dev", name="cfg")
    settle(resource, drive, ResourceStatus.AWAITING_APPROVAL)
    assert newest_plan(resource).approval_requirement["platform_admin"] is True
    before = frozen(resource)
    assert_error(api_as(bob).post(api_url(resource, "approve")), 403)
    assert frozen(resource) == before
    assert api_as(platform_admin).post(api_url(resource, "approve")).status_code == 200
    settle(resource, drive, ResourceStatus.PROVISIONED)


def test_template_three_in_prod_needs_three_distinct_approvers(
    alice, bob, dave, erin, teams, envs, state, drive, api_as
) -> None:
    register_module("tf_echo", approval_policy={"prod": 3})
    resource = request_module(alice, teams["payments"], env="prod", name="db")
    settle(resource, drive, ResourceStatus.AWAITING_APPROVAL)
    assert newest_plan(resource).approval_requirement["approvals"] == 3
    for approver in (bob, dave):
        assert api_as(approver).post(api_url(resource, "approve")).status_code == 200
        resource.refresh_from_db()
        assert resource.status == ResourceStatus.AWAITING_APPROVAL
    assert api_as(erin).post(api_url(resource, "approve")).status_code == 200
    settle(resource, drive, ResourceStatus.PROVISIONED)


# --- one name rule, one message ------------------------------------------------------------

BAD_NAMES = ["My_Config", "under_score", "-lead", "trail-", "a" * 64]
REQUEST_PAGE = "/catalog/templates/tf-echo/request/"


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_resource_name_is_400_through_the_api(name, alice, teams, envs, echo, api_as) -> None:
    response = api_as(alice).post(
        "/api/v1/resources/",
        {
            "template": "tf-echo",
            "team": "payments",
            "environment": "dev",
            "name": name,
            "parameters": {"message": "hi"},
        },
        format="json",
    )
    body = assert_error(response, 400, "name")
    assert body["detail"]["name"] == [NAME_RULE]
    assert not Resource.objects.exists()


def _portal_request(client: Any, token: str, name: str) -> Any:
    return client.post(
        REQUEST_PAGE,
        {
            "csrfmiddlewaretoken": token,
            "team": "payments",
            "environment": "dev",
            "name": name,
            "p-message": "hi",
        },
    )


def _name_errors(page: str) -> str:
    return page.split('id="field-name"')[1].split('<div class="field"')[0]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_resource_name_is_400_through_the_portal_form(
    name, alice, teams, envs, echo, csrf_client
) -> None:
    client, token = csrf_client(alice, REQUEST_PAGE)
    response = _portal_request(client, token, name)
    assert response.status_code == 400
    assert 'class="errorlist' in _name_errors(response.content.decode())
    assert not Resource.objects.exists()
    # The same form with a good name is accepted (the refusal above was the name's).
    assert _portal_request(client, token, "good-name").status_code == 302


@pytest.mark.parametrize("name", BAD_NAMES)
def test_portal_shows_the_same_name_rule_text_as_the_api(
    name, alice, teams, envs, echo, csrf_client
) -> None:
    client, token = csrf_client(alice, REQUEST_PAGE)
    page = _portal_request(client, token, name).content.decode()
    assert NAME_RULE in _name_errors(page)


# --- junk ids in list filters ----------------------------------------------------------------


@pytest.mark.parametrize("value", ["-4e260", "abc", "1e3", "0", "-1", "9" * 30, "1.5", "²"])
def test_runs_filtered_by_a_junk_resource_id_is_400(value, alice, api_as) -> None:
    assert_error(api_as(alice).get("/api/v1/runs/", {"resource": value}), 400, "resource")


def test_runs_filtered_by_a_real_resource_id_still_works(alice, api_as) -> None:
    response = api_as(alice).get("/api/v1/runs/", {"resource": "1"})
    assert response.status_code == 200 and response.json()["results"] == []
