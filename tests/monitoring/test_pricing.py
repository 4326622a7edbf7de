"""The price catalog: plans priced change by change from recorded plan documents (the shape
`terraform show -json` gives), unknown types listed as unpriced, and `refresh_prices`
against a local server shaped like the Price List Query API."""

from __future__ import annotations

import copy
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from monitoring.models import Price, PriceCatalog
from monitoring.services import pricing
from tests.fakes.pricing import pricing_server

PLANS = Path(__file__).resolve().parent.parent / "fixtures" / "plans"


def recorded(name: str) -> dict[str, Any]:
    return json.loads((PLANS / f"{name}.json").read_text())


def with_instance_class(plan: dict[str, Any], instance_class: str) -> dict[str, Any]:
    plan = copy.deepcopy(plan)
    for change in plan["resource_changes"]:
        if change["type"] == "aws_db_instance":
            change["change"]["after"]["instance_class"] = instance_class
    plan["variables"]["instance_class"]["value"] = instance_class
    return plan


@pytest.fixture
def catalog(db: None) -> PriceCatalog:
    return pricing.seed_shipped("us-east-1")


def price(catalog: PriceCatalog, rtype: str, component: str, variant: str = "") -> Decimal:
    return Price.objects.get(
        catalog=catalog, resource_type=rtype, component=component, variant=variant
    ).usd


def test_two_rds_plans_differing_in_instance_class_are_priced_from_the_catalog(
    catalog: PriceCatalog,
) -> None:
    plan = recorded("rds-postgres-create")
    small = pricing.price_plan(with_instance_class(plan, "db.t4g.micro"), "us-east-1")
    large = pricing.price_plan(with_instance_class(plan, "db.m7g.large"), "us-east-1")
    assert small is not None and large is not None
    storage = 50 * price(catalog, "aws_db_instance", "storage_gb_month", "gp3")
    for cost, cls in ((small, "db.t4g.micro"), (large, "db.m7g.large")):
        hourly = price(catalog, "aws_db_instance", "instance_hour", cls)
        expected = (hourly * 730 + storage).quantize(Decimal("0.01"))
        assert cost["monthly_after"] == str(expected)
        assert cost["monthly_before"] == "0.00"
        assert cost["delta"] == str(expected)
        assert cost["currency"] == "USD"
        db = next(line for line in cost["lines"] if line["type"] == "aws_db_instance")
        assert db["address"] == "aws_db_instance.this"
        assert db["monthly"] == str(expected)
        assert cls in db["basis"] and "50 GB gp3" in db["basis"]
        # The other four resources cost nothing by themselves, and say so.
        free = [line for line in cost["lines"] if line["type"] != "aws_db_instance"]
        assert len(free) == 4 and all(line["basis"] == "no charge" for line in free)
        assert cost["unpriced"] == []
        assert cost["catalog"]["source_date"] == "2026-11-01"
        assert cost["catalog"]["region"] == "us-east-1"
    assert Decimal(small["monthly_after"]) == Decimal("17.43")  # 0.016 × 730 + 50 × 0.115
    assert Decimal(large["monthly_after"]) == Decimal("128.39")  # 0.168 × 730 + 50 × 0.115


def test_a_resize_is_priced_before_and_after(catalog: PriceCatalog) -> None:
    cost = pricing.price_plan(recorded("rds-postgres-resize"), "us-east-1")
    assert cost is not None
    assert (cost["monthly_before"], cost["monthly_after"], cost["delta"]) == (
        "17.43",
        "128.39",
        "110.96",
    )
    db = cost["lines"][0]
    assert (db["action"], db["monthly_before"], db["monthly"]) == ("update", "17.43", "128.39")


def test_multi_az_doubles_and_an_unknown_class_is_unpriced(catalog: PriceCatalog) -> None:
    plan = recorded("rds-postgres-create")
    plan["resource_changes"][0]["change"]["after"]["multi_az"] = True
    cost = pricing.price_plan(plan, "us-east-1")
    assert cost is not None and cost["monthly_after"] == str(Decimal("17.43") * 2)
    odd = pricing.price_plan(with_instance_class(plan, "db.x2iedn.32xlarge"), "us-east-1")
    assert odd is not None
    assert odd["unpriced"] == [
        {
            "address": "aws_db_instance.this",
            "type": "aws_db_instance",
            "reason": "no price for instance_hour db.x2iedn.32xlarge in the us-east-1 catalog",
        }
    ]
    assert odd["monthly_after"] == "0.00"  # what was priced; the unpriced line says why


def test_an_unknown_type_is_listed_as_unpriced_never_a_silent_zero(catalog: PriceCatalog) -> None:
    plan = recorded("rds-postgres-create")
    plan["resource_changes"].append(
        {
            "address": "aws_opensearch_domain.search",
            "mode": "managed",
            "type": "aws_opensearch_domain",
            "name": "search",
            "change": {"actions": ["create"], "before": None, "after": {"domain_name": "x"}},
        }
    )
    cost = pricing.price_plan(plan, "us-east-1")
    assert cost is not None
    assert cost["unpriced"] == [
        {
            "address": "aws_opensearch_domain.search",
            "type": "aws_opensearch_domain",
            "reason": "the price catalog has no price for this type",
        }
    ]
    assert "aws_opensearch_domain.search" not in {line["address"] for line in cost["lines"]}
    assert cost["monthly_after"] == "17.43"


def test_every_type_the_shipped_templates_create_is_in_the_catalog(
    catalog: PriceCatalog,
) -> None:
    modules = Path(__file__).resolve().parents[2] / "terraform_modules"
    types = set()
    for tf in modules.glob("*/*.tf"):
        for line in tf.read_text().splitlines():
            if line.startswith('resource "aws_'):
                types.add(line.split('"')[1])
    prices = pricing.Prices.of(catalog)
    missing = {
        t
        for t in types
        if (t, pricing.NO_CHARGE, "") not in prices.table
        and not (t in pricing.PRICERS and pricing.PRICED_AS.get(t, t) in prices.types)
    }
    assert types and missing == set()


def test_node_groups_asg_lambda_dynamodb_and_nat_are_priced_by_their_attributes(
    catalog: PriceCatalog,
) -> None:
    def change(address: str, after: dict[str, Any]) -> dict[str, Any]:
        rtype = address.split(".")[0]
        return {
            "address": address,
            "mode": "managed",
            "type": rtype,
            "name": address.split(".")[1],
            "change": {"actions": ["create"], "before": None, "after": after},
        }

    plan = {
        "variables": {"expected_invocations_millions": {"value": 3}},
        "resource_changes": [
            change(
                "aws_launch_template.node",
                {
                    "instance_type": "t3.small",
                    "block_device_mappings": [{"ebs": [{"volume_size": 20, "volume_type": "gp3"}]}],
                },
            ),
            change(
                "aws_autoscaling_group.this",
                {"desired_capacity": 2, "launch_template": [{"name": "web-"}]},
            ),
            change(
                "aws_eks_node_group.default",
                {
                    "instance_types": ["m7i.large"],
                    "capacity_type": "ON_DEMAND",
                    "scaling_config": [{"desired_size": 3, "min_size": 1, "max_size": 5}],
                },
            ),
            change("aws_lambda_function.this", {"memory_size": 512}),
            change(
                "aws_dynamodb_table.prov",
                {"billing_mode": "PROVISIONED", "read_capacity": 10, "write_capacity": 5},
            ),
            change("aws_dynamodb_table.demand", {"billing_mode": "PAY_PER_REQUEST"}),
            change("aws_nat_gateway.this", {"connectivity_type": "public"}),
            change("aws_lb.web", {"load_balancer_type": "application"}),
        ],
    }
    cost = pricing.price_plan(plan, "us-east-1")
    assert cost is not None and cost["unpriced"] == []
    lines = {line["address"]: Decimal(line["monthly"]) for line in cost["lines"]}
    assert lines["aws_launch_template.node"] == 0
    assert lines["aws_autoscaling_group.this"] == (
        2 * (Decimal("0.0208") * 730 + 20 * Decimal("0.08"))
    ).quantize(Decimal("0.01"))
    assert lines["aws_eks_node_group.default"] == (3 * Decimal("0.1008") * 730).quantize(
        Decimal("0.01")
    )
    # 512 MB × 0.2 s × 3 M invocations (the plan's variable) + 3 M requests.
    gb_s = Decimal("0.5") * Decimal("0.2") * 3_000_000
    assert lines["aws_lambda_function.this"] == (
        gb_s * Decimal("0.0000166667") + 3 * Decimal("0.20")
    ).quantize(Decimal("0.01"))
    assert lines["aws_dynamodb_table.prov"] == (
        (10 * Decimal("0.00013") + 5 * Decimal("0.00065")) * 730 + 5 * Decimal("0.25")
    ).quantize(Decimal("0.01"))
    assert lines["aws_dynamodb_table.demand"] == (
        10 * Decimal("0.125") + 2 * Decimal("0.625") + 5 * Decimal("0.25")
    ).quantize(Decimal("0.01"))
    assert lines["aws_nat_gateway.this"] == Decimal("0.045") * 730 + 100 * Decimal("0.045")
    assert lines["aws_lb.web"] == ((Decimal("0.0225") + Decimal("0.008")) * 730).quantize(
        Decimal("0.01")
    )
    assert Decimal(cost["monthly_after"]) == sum(lines.values())


def test_refresh_prices_against_the_local_pricing_server_updates_the_catalog(
    catalog: PriceCatalog, settings: Any
) -> None:
    with pricing_server() as fake:
        settings.IDP_PRICING_ENDPOINT = fake.url
        fake.add(
            "AmazonRDS",
            "0.0190000000",
            regionCode="us-east-1",
            instanceType="db.t4g.micro",
            databaseEngine="PostgreSQL",
            deploymentOption="Single-AZ",
        )
        fake.add(  # another engine: not our price
            "AmazonRDS",
            "0.9990000000",
            regionCode="us-east-1",
            instanceType="db.t4g.micro",
            databaseEngine="MySQL",
            deploymentOption="Single-AZ",
        )
        fake.add(
            "AmazonEC2",
            "0.0210000000",
            regionCode="us-east-1",
            instanceType="t3.small",
            operatingSystem="Linux",
            tenancy="Shared",
            preInstalledSw="NA",
            capacitystatus="Used",
        )
        out = io.StringIO()
        call_command("refresh_prices", stdout=out)
        assert "2 prices from the Price List (2 changed)" in out.getvalue()
        gets = [r for r in fake.requests if r["target"].endswith("GetProducts")]
        assert gets and all(r["body"]["FormatVersion"] == "aws_v1" for r in gets)
    newest = pricing.current_catalog("us-east-1")
    assert newest is not None and newest.pk != catalog.pk
    assert newest.source == "AWS Price List Query API"
    assert price(newest, "aws_db_instance", "instance_hour", "db.t4g.micro") == Decimal("0.019")
    assert price(newest, "aws_instance", "instance_hour", "t3.small") == Decimal("0.021")
    # What did not answer keeps the price of the version before; the old version stays.
    assert price(newest, "aws_db_instance", "instance_hour", "db.m7g.large") == Decimal("0.168")
    assert Price.objects.filter(catalog=newest, refreshed=True).count() == 2
    assert price(catalog, "aws_db_instance", "instance_hour", "db.t4g.micro") == Decimal("0.016")
    # Plans are priced from the newest version from now on.
    cost = pricing.price_plan(recorded("rds-postgres-create"), "us-east-1")
    assert cost is not None
    assert cost["monthly_after"] == "19.62"  # 0.019 × 730 + 50 × 0.115
    assert cost["catalog"]["source"] == "AWS Price List Query API"


def test_refresh_prices_out_of_reach_keeps_the_catalog(
    catalog: PriceCatalog, settings: Any
) -> None:
    settings.IDP_PRICING_ENDPOINT = "http://127.0.0.1:9"  # nothing listens
    with pytest.raises(CommandError, match="catalog in use is unchanged"):
        call_command("refresh_prices", stdout=io.StringIO(), stderr=io.StringIO())
    assert pricing.current_catalog("us-east-1") == catalog
    with pricing_server() as fake:
        settings.IDP_PRICING_ENDPOINT = fake.url
        fake.fail_with = (400, "AccessDeniedException")
        err = io.StringIO()
        with pytest.raises(CommandError):
            call_command("refresh_prices", stdout=io.StringIO(), stderr=err)
        assert "AccessDeniedException" in err.getvalue()
    assert PriceCatalog.objects.filter(region="us-east-1").count() == 1


def test_the_budget_gate_decides_on_the_plans_priced_cost(
    catalog: PriceCatalog, teams: dict, make_version: Any
) -> None:
    from types import SimpleNamespace

    from django.utils import timezone

    from monitoring.budget import budget_gate
    from monitoring.models import Budget, CostRecord

    payments = teams["payments"]
    resource = SimpleNamespace(team=payments)
    version = make_version("rds", cost_hints={"fixed_monthly_usd": 20})
    Budget.objects.create(team=payments, monthly_amount=Decimal("100"))
    CostRecord.objects.create(
        team=payments, date=timezone.now().date().replace(day=1), amount=Decimal("1")
    )
    plan = recorded("rds-postgres-create")
    small = pricing.price_plan(with_instance_class(plan, "db.t4g.micro"), "us-east-1")
    large = pricing.price_plan(with_instance_class(plan, "db.m7g.large"), "us-east-1")
    # The hints say 20 whatever the class; the plan's price decides.
    gate = budget_gate(resource, version, {}, cost=small)
    assert (gate.platform_admin, gate.estimated_monthly_cost) == (False, Decimal("17.43"))
    gate = budget_gate(resource, version, {}, cost=large)
    assert (gate.platform_admin, gate.estimated_monthly_cost) == (True, Decimal("128.39"))
    assert "$128.39/month" in gate.reason
    # Part of the plan unpriced: the hints stand in when they say more.
    partial = {**small, "unpriced": [{"address": "x.y", "type": "x", "reason": "?"}]}
    assert budget_gate(resource, version, {}, cost=partial).estimated_monthly_cost == 20
    # No priced plan (a request before its plan): the hints.
    assert budget_gate(resource, version, {}).estimated_monthly_cost == 20
