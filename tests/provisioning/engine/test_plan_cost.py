"""A real plan (Terraform on a provider-free fixture module) is priced where its other
results are computed: its cost is kept with the plan run, shown on the plan card and in the
API; what the catalog cannot price is listed, and the template's cost hints stand in for
the budget gate when they say more."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.models import TemplateVersion
from monitoring.services import pricing
from provisioning.models import Run

from .conftest import request_module


@pytest.mark.django_db
def test_a_plan_is_priced_from_its_changes(
    alice: Any,
    teams: dict,
    envs: dict,
    echo: TemplateVersion,
    state: str,
    drive: Any,
    api_as: Any,
    client_as: Any,
) -> None:
    pricing.seed_shipped("us-east-1")
    TemplateVersion.objects.filter(pk=echo.pk).update(
        cost_hints={
            "fixed_monthly_usd": 5,
            "plan_extras": {"fixed_monthly_usd": 2, "label": "support contract"},
        }
    )
    resource = request_module(alice, teams["payments"], name="priced")
    drive(resource)
    plan = Run.objects.get(resource=resource, kind="plan")
    cost = plan.cost
    assert cost is not None
    # terraform_data is not an AWS type: listed, never a silent zero.
    assert cost["unpriced"] == [
        {
            "address": "terraform_data.echo",
            "type": "terraform_data",
            "reason": "the price catalog has no price for this type",
        }
    ]
    assert [(line["type"], line["monthly"], line["basis"]) for line in cost["lines"]] == [
        ("cost_hints", "2.00", "support contract")
    ]
    assert (cost["monthly_before"], cost["monthly_after"], cost["delta"]) == (
        "0.00",
        "2.00",
        "2.00",
    )
    assert cost["catalog"]["region"] == "us-east-1"
    assert cost["catalog"]["priced_for_region"] == resource.environment.aws_region
    # Part of the plan is unpriced: the gate's estimate is the hints' when they say more.
    assert plan.approval_requirement["estimated_monthly_cost"] == "5.00"
    body = api_as(alice).get(f"/api/v1/runs/{plan.pk}/").json()
    assert body["cost"]["unpriced"][0]["address"] == "terraform_data.echo"
    assert body["cost"]["lines"][0]["basis"] == "support contract"
    page = client_as(alice).get(plan.get_absolute_url()).content.decode()
    assert 'id="plan-cost"' in page and "not priced" in page and "support contract" in page
