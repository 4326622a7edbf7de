"""The plan diff end to end: real Terraform on `tf_echo` (S3 state on moto), a parameter
changed from "hello" to "changed", read by the approver in the stored plan, the API and the
resource page; secrets passed as sensitive parameters appear nowhere."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from django.urls import reverse

from catalog.sensitivity import MASK
from provisioning import actions
from provisioning.choices import ResourceStatus, RunKind, RunStatus

from .conftest import register_module, request_module

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FIRST_SECRET = "first-secret-param-7731"
SECOND_SECRET = "second-secret-param-9924"


def rows(entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in entry["attributes"]}


@pytest.fixture
def changed(alice, bob, teams, envs, echo, state, drive) -> Any:
    """A prod resource applied with "hello", then changed to "changed": the plan awaits bob."""
    resource = request_module(
        alice,
        teams["payments"],
        env="prod",
        name="greeting",
        parameters={"message": "hello", "secret": FIRST_SECRET},
    )
    (first,) = drive(resource)
    assert first.status == RunStatus.SUCCEEDED, first.error
    created = rows(first.plan_changes["resources"][0])
    assert first.plan_changes["resources"][0]["action"] == "create"
    assert created["input"]["after"] == "hello" and created["output"]["unknown"]
    assert FIRST_SECRET not in json.dumps(first.plan_changes)
    actions.approve(resource, actor=bob)
    (apply,) = drive(resource)
    assert resource.status == ResourceStatus.PROVISIONED, apply.error

    actions.change_parameters(
        resource, {"message": "changed", "secret": SECOND_SECRET}, actor=alice
    )
    (plan,) = drive(resource)
    assert plan.kind == RunKind.PLAN and plan.status == RunStatus.SUCCEEDED, plan.error
    assert resource.status == ResourceStatus.AWAITING_APPROVAL
    return resource, plan


@pytest.mark.django_db
def test_the_stored_plan_shows_hello_to_changed_for_the_input(changed):
    _, plan = changed
    (echo,) = plan.plan_changes["resources"]
    assert echo["address"] == "terraform_data.echo" and echo["action"] == "update"
    attrs = rows(echo)
    assert (attrs["input"]["before"], attrs["input"]["after"]) == ("hello", "changed")
    assert attrs["output"]["unknown"] and "output" in echo["after_unknown"]
    assert echo["changed"] == ["input", "output"]
    outputs = {o["name"]: o for o in plan.plan_changes["outputs"]}
    assert outputs["echo"]["after_unknown"] and outputs["echo"]["before"] == "hello"
    assert outputs["token"]["sensitive"] and outputs["token"]["after"] == MASK
    stored = json.dumps(plan.plan_changes)
    assert FIRST_SECRET not in stored and SECOND_SECRET not in stored


@pytest.mark.django_db
def test_the_api_shows_the_changes_to_the_team_and_404_to_another(changed, api_as, bob, carol):
    resource, plan = changed
    detail = api_as(bob).get(f"/api/v1/resources/{resource.pk}/")
    assert detail.status_code == 200 and detail.json()["latest_plan"]["id"] == plan.pk
    response = api_as(bob).get(f"/api/v1/runs/{plan.pk}/")
    assert response.status_code == 200
    body = response.json()
    (echo,) = body["changes"]
    assert set(echo) >= {"address", "action", "replace_paths", "before", "after", "after_unknown"}
    assert (echo["before"]["input"], echo["after"]["input"]) == ("hello", "changed")
    assert echo["after_unknown"] == ["output"] and echo["replace_paths"] == []
    assert {o["name"] for o in body["output_changes"]} == {"echo", "token"}
    assert FIRST_SECRET not in response.content.decode()
    assert SECOND_SECRET not in response.content.decode()

    assert api_as(carol).get(f"/api/v1/runs/{plan.pk}/").status_code == 404


@pytest.mark.django_db
def test_the_openapi_schema_documents_the_changes(client):
    schemas = client.get("/api/schema/?format=json").json()["components"]["schemas"]
    detail = schemas["RunDetail"]["properties"]
    assert detail["changes"]["items"] == {"$ref": "#/components/schemas/ResourceChange"}
    assert detail["output_changes"]["items"] == {"$ref": "#/components/schemas/OutputChange"}
    assert {"address", "action", "replace_paths", "before", "after", "after_unknown"} <= set(
        schemas["ResourceChange"]["required"]
    )


@pytest.mark.django_db
def test_the_resource_and_run_pages_show_it(changed, client_as, bob, carol):
    resource, plan = changed
    run_page = reverse("provisioning:run_detail", args=[plan.pk])
    for url in (reverse("provisioning:resource_detail", args=[resource.pk]), run_page):
        page = client_as(bob).get(url)
        html = page.content.decode()
        assert page.status_code == 200, url
        assert 'data-attribute="input"' in html, url
        assert '"<code class="value">hello</code>"' in html, url
        assert '"<code class="value">changed</code>"' in html, url
        assert "(known after apply)" in html and MASK in html
        assert FIRST_SECRET not in html and SECOND_SECRET not in html
    assert client_as(carol).get(run_page).status_code == 404


@pytest.mark.django_db
def test_a_sensitive_parameter_terraform_does_not_mark_is_redacted(
    alice, teams, envs, state, drive
):
    # The catalog calls `message` sensitive here; the module's variable does not say so,
    # so only the run's redactor stands between the value and the stored diff.
    version = register_module("tf_echo", slug="tf-echo-secret")
    schema = copy.deepcopy(version.parameters_schema)  # the fixtures' schema stays as it is
    schema["properties"]["message"] = {"type": "string", "x-sensitive": True}
    version.parameters_schema = schema
    version.save(update_fields=["parameters_schema"])
    secret = "unmarked-secret-message-2718"
    resource = request_module(
        alice, teams["payments"], template="tf-echo-secret", name="quiet", message=secret
    )
    plan, _apply = drive(resource)
    assert plan.status == RunStatus.SUCCEEDED, plan.error
    (echo,) = plan.plan_changes["resources"]
    assert rows(echo)["input"]["after"] == MASK
    assert secret not in json.dumps(plan.plan_changes)
