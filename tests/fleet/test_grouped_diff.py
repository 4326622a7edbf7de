"""The fleet page reviews by change: three resources whose plans set `input.color` the same
way read as one group ("3 resources: input.color: null → "yellow""), a replacement comes
first and in red, each group lists its resources and environments, and nothing secret or
folded (the per-resource tags) reaches the page. Plans stored as the engine stores them,
on PostgreSQL with the test client (no Terraform)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from fleet.choices import FleetStatus, ItemStatus, PlanGroup
from fleet.models import FleetItem, FleetUpgrade
from provisioning.choices import RunKind, RunStatus
from provisioning.models import Run
from provisioning.plan_diff import plan_changes
from tests.helpers import make_resource

from .conftest import register

pytestmark = pytest.mark.django_db

SECRET = "pw-never-shown-7731"


def planned(name: str, env: str, *, replace: bool = False) -> dict[str, Any]:
    """example-config's plan of one resource: `input.color` set (its tags differ per
    resource and stay the same), the output known after apply, a secret unchanged."""
    tags = {"idp:environment": env, "idp:resource": name}
    before = {"input": {"message": "hi", "tags": tags, "password": SECRET}, "output": "old"}
    after = {
        "input": {"message": "hi", "tags": tags, "password": SECRET, "color": "yellow"},
        "output": None,
        **({"triggers_replace": "v2"} if replace else {}),
    }
    change = {
        "actions": ["delete", "create"] if replace else ["update"],
        "before": before,
        "after": after,
        "after_unknown": {"output": True},
        "before_sensitive": {"input": {"password": True}},
        "after_sensitive": {"input": {"password": True}},
        "replace_paths": [["triggers_replace"]] if replace else [],
    }
    return plan_changes(
        {"resource_changes": [{"address": "terraform_data.config", "change": change}]}
    )


def make_fleet(envs: dict[str, Any], team: Any, actor: Any) -> FleetUpgrade:
    """A planned fleet upgrade of example-config: three resources (sandbox, dev, dev) whose
    plans set `input.color` alike, and one in prod whose plan replaces it."""
    v1, v2 = register("v1", slug="example-config"), register("v2", slug="example-config")
    fleet = FleetUpgrade.objects.create(
        template=v2.template,
        target_version=v2,
        team=team,
        status=FleetStatus.PLANNED,
        waves=[{"name": "sandbox", "environments": ["sandbox"]}],
        created_by=actor,
    )
    members = [
        ("note-a", "sandbox", False),
        ("note-b", "dev", False),
        ("note-c", "dev", False),
        ("note-r", "prod", True),
    ]
    for name, env, replace in members:
        resource = make_resource(team, name, template_version=v1, environment=envs[env])
        plan = Run.objects.create(
            resource=resource,
            kind=RunKind.PLAN,
            status=RunStatus.SUCCEEDED,
            template_version=v2,
            plan_changes=planned(name, env, replace=replace),
        )
        FleetItem.objects.create(
            fleet=fleet,
            resource=resource,
            from_version=v1,
            status=ItemStatus.PLANNED,
            group=PlanGroup.REPLACE if replace else PlanGroup.UPDATE,
            plan_run=plan,
        )
    return fleet


@pytest.fixture
def fleet(fleet_envs: dict[str, Any], teams: dict[str, Any], bob: Any) -> FleetUpgrade:
    return make_fleet(fleet_envs, teams["payments"], bob)


def test_three_identical_changes_read_as_one_group(fleet, client_as, bob):
    page = client_as(bob).get(f"/fleet-upgrades/{fleet.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    groups = re.findall(
        r'<details class="plan-resource change-group plan-(\w+)" data-count="(\d+)"', html
    )
    assert groups == [("replace", "1"), ("update", "3")]  # the replacement first, in red
    three = html.split('data-count="3"')[1].split("</details>")[0]
    assert "3 resources" in three
    assert "input.color: null → &quot;yellow&quot;" in three
    assert 'data-path="input.color"' in three and 'data-path="output"' in three
    assert "output: (differs) → (known after apply)" not in three  # every old output is "old"
    assert "output: &quot;old&quot; → (known after apply)" in three
    assert "Environments: dev, sandbox" in three
    assert "note-a" in three and "note-b" in three and "note-c" in three and "note-r" not in three
    replaced = html.split('data-count="1"')[1].split("</details>")[0]
    assert "replaces" in replaced and "forces replacement" in replaced
    assert 'data-path="triggers_replace"' in replaced and "(prod)" in replaced
    # Unchanged objects fold: neither the tags nor the unchanged secret are on the page.
    assert "idp:resource" not in html and "input.tags" not in html
    assert SECRET not in html and "input.password" not in html


def test_the_api_answers_the_same_groups_and_another_team_sees_nothing(
    fleet, client_as, carol, bob
):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(bob)
    body = api.get(f"/api/v1/fleet-upgrades/{fleet.pk}/").json()
    first, second = body["change_groups"]
    assert (first["count"], first["replace"], first["destructive"]) == (1, True, True)
    assert second["title"] == "3 resources" and second["environments"] == ["dev", "sandbox"]
    assert second["headline"].startswith('input.color: null → "yellow"')
    assert [r["name"] for r in second["resources"]] == ["note-a", "note-b", "note-c"]
    update = next(g for g in body["groups"] if g["group"] == "update")
    assert {d["attribute"] for d in update["diffs"]} == {"input.color", "output"}
    assert SECRET not in str(body)
    assert client_as(carol).get(f"/fleet-upgrades/{fleet.pk}/").status_code == 404
