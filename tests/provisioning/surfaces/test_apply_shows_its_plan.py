"""An apply run's page and API answer show the plan it applied: its changes and policies."""

from __future__ import annotations

import pytest

from provisioning.choices import RunKind
from tests.provisioning.surfaces.test_policy_surfaces import summary
from tests.utils import assert_ok

CHANGES = {
    "resources": [
        {
            "address": "terraform_data.this",
            "action": "update",
            "action_reason": "",
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


@pytest.mark.django_db
def test_an_apply_shows_the_plan_it_applies(
    make_resource, make_run, teams, alice, api_as, client_as
):
    resource = make_resource(teams["payments"], "cfg")
    plan = make_run(
        resource,
        plan_hash="a" * 64,
        plan_summary={"add": 0, "change": 1, "destroy": 0, "resources": []},
        plan_changes=CHANGES,
        policy_summary={**summary("mandatory"), "blocking": 0, "failures": 0, "results": []},
    )
    apply = make_run(resource, kind=RunKind.APPLY, plan_run=plan)

    body = assert_ok(api_as(alice).get(f"/api/v1/runs/{apply.pk}/"))
    assert [(c["address"], c["before"], c["after"]) for c in body["changes"]] == [
        ("terraform_data.this", {"input": "hello"}, {"input": "changed"})
    ]
    page = client_as(alice).get(f"/resources/runs/{apply.pk}/").content.decode()
    assert "applied from" in page and f"run {plan.pk}" in page
    assert 'data-address="terraform_data.this"' in page
