"""`idp approvals list` / `idp approvals show ID` against a live server over real HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.utils import timezone

from provisioning.choices import ResourceStatus
from tests.provisioning.surfaces.conftest import (  # noqa: F401 - fixtures
    envs,
    make_resource,
    make_run,
    template,
)

from .conftest import one_error_line

# As the engine stores a plan's changes (provisioning/plan_diff.py).
CHANGES = {
    "resources": [
        {
            "address": "terraform_data.this",
            "action": "update",
            "action_reason": "",
            "replace_paths": [],
            "after_unknown": ["output"],
            "changed": ["input", "output"],
            "attributes": [
                {
                    "name": "input",
                    "before": "hello",
                    "after": "changed",
                    "changed": True,
                    "unknown": False,
                    "sensitive": False,
                    "forces_replacement": False,
                },
                {
                    "name": "output",
                    "before": "hello",
                    "after": None,
                    "changed": True,
                    "unknown": True,
                    "sensitive": False,
                    "forces_replacement": False,
                },
            ],
        }
    ],
    "outputs": [],
}


@pytest.fixture
def plan(make_resource, make_run, envs, teams, alice) -> Any:  # noqa: F811
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
        approval_requirement={
            "approvals": 1,
            "platform_admin": False,
            "reasons": ["prod requires 1 approval"],
            "estimated_monthly_cost": "6.00",
        },
    )


def test_list_shows_what_awaits_me(cli, plan, alice, bob, carol, token_for):
    listed = cli("approvals", "list", token=token_for(bob))
    assert listed.exit_code == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if "app-config" in line)
    for text in (str(plan.pk), "payments", "prod", "example-config v1", "+0 ~1 -0", "alice"):
        assert text in row, (text, row)
    assert "$6.00" in row and "0/1" in row
    as_json = json.loads(cli("approvals", "list", "-o", "json", token=token_for(bob)).stdout)
    assert [i["id"] for i in as_json] == [plan.pk]
    for user in (alice, carol):
        empty = cli("approvals", "list", "-o", "json", token=token_for(user))
        assert empty.exit_code == 0 and json.loads(empty.stdout) == []


def test_show_prints_the_item_and_the_diff(cli, plan, bob, token_for):
    shown = cli("approvals", "show", str(plan.pk), "--no-color", token=token_for(bob))
    assert shown.exit_code == 0, shown.stderr
    out = shown.stdout
    assert "app-config" in out and "prod requires 1 approval" in out
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in out
    assert f"idp resources approve {plan.resource_id} --plan {plan.pk}" in out
    as_json = json.loads(
        cli("approvals", "show", str(plan.pk), "-o", "json", token=token_for(bob)).stdout
    )
    assert as_json["plan_run"] == plan.pk
    # The attribute-level diff from the plan run's `changes` (GET /api/v1/runs/{id}/).
    assert 'input: "hello" -> "changed"' in out
    assert "(known after apply)" in out
    assert as_json["changes"][0]["address"] == "terraform_data.this"


def test_show_of_a_plan_not_mine_to_decide_is_not_found(cli, plan, alice, carol, token_for):
    for user in (alice, carol):
        result = cli("approvals", "show", str(plan.pk), token=token_for(user))
        assert result.exit_code == 4, result.stdout
        assert "404" in one_error_line(result) or "not found" in one_error_line(result).lower()


def test_approve_with_the_plan_from_the_inbox(cli, plan, bob, token_for):
    token = token_for(bob)
    [item] = json.loads(cli("approvals", "list", "-o", "json", token=token).stdout)
    approved = cli(
        "resources",
        "approve",
        str(item["resource"]["id"]),
        "--plan",
        str(item["plan_run"]),
        "-o",
        "json",
        token=token,
    )
    assert approved.exit_code == 0, approved.stderr
    assert json.loads(approved.stdout)["status"] == "applying"
    assert json.loads(cli("approvals", "list", "-o", "json", token=token).stdout) == []
