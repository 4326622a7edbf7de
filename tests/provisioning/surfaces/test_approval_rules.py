# ruff: noqa: F811 - fixtures are imported by name, then asked for by name
"""The approval policy as data: an environment says which roles approve and whether going
over budget needs a platform admin; the Policies page shows every environment's rule."""

from __future__ import annotations

import pytest

from idp.choices import Role
from provisioning import actions
from provisioning.approval_policy import ApprovalPolicy, approval_rules
from tests.utils import assert_error

from .test_inbox import awaiting_plan  # noqa: F401 - fixture


@pytest.mark.django_db
def test_an_environment_can_ask_for_team_admins(
    awaiting_plan,
    envs,
    alice,
    bob,
    make_user,
    teams,
    api_as,  # noqa: F811
):
    plan = awaiting_plan("cfg", alice)
    resource = plan.resource
    assert ApprovalPolicy.of(resource).refusal(resource, plan, bob) is None

    envs["prod"].approver_role = "admin"
    envs["prod"].save()
    resource.refresh_from_db()
    refusal = ApprovalPolicy.of(resource).refusal(resource, plan, bob)
    assert refusal is not None and "approvers: an admin of payments" in refusal
    assert "approve" not in actions.allowed_actions(resource, bob)
    assert_error(api_as(bob).post(f"/api/v1/resources/{resource.pk}/approve/", {}), 403)

    dave = make_user("dave", team=teams["payments"], role=Role.ADMIN)
    assert ApprovalPolicy.of(resource).refusal(resource, plan, dave) is None
    actions.approve(resource, actor=dave)
    resource.refresh_from_db()
    assert resource.status == "applying"


@pytest.mark.django_db
def test_over_budget_needs_a_platform_admin_unless_the_environment_says_not(envs, teams, template):
    from monitoring.budget import budget_gate
    from monitoring.models import Budget
    from provisioning.models import Resource

    version = template.current_version
    version.cost_hints = {
        "fixed_monthly_usd": 0,
        "per_unit": [{"parameter": "replicas", "usd_per_unit": 1.5}],
    }
    version.save(update_fields=["cost_hints"])
    Budget.objects.create(team=teams["payments"], monthly_amount=5)
    resource = Resource(team=teams["payments"], environment=envs["prod"], template=template)
    ten = {"message": "x", "replicas": 10}  # $15.00 a month, over the $5 budget

    gate = budget_gate(resource, version, ten)
    assert (gate.platform_admin, str(gate.estimated_monthly_cost)) == (True, "15.00")
    envs["prod"].over_budget_platform_admin = False
    envs["prod"].save()
    assert budget_gate(resource, version, ten).platform_admin is False


@pytest.mark.django_db
def test_the_policies_page_shows_every_environment_rule(envs, client_as, alice) -> None:
    envs["prod"].approvals_required = 2
    envs["prod"].approver_role = "admin"
    envs["prod"].save()
    rules = {rule["environment"]: rule for rule in approval_rules()}
    assert rules["dev"]["approvals"] == 0
    assert rules["prod"]["approvals"] == 2
    assert rules["prod"]["approvers"].startswith("an admin of the owning team")
    page = client_as(alice).get("/policies/").content.decode()
    assert 'id="approval-rules"' in page
    assert 'data-environment="prod"' in page and "an admin of the owning team" in page
    assert "everyone who touched the pending change" in page
