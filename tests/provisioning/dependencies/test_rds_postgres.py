"""The shipped `rds-postgres` takes its network from the team's `vpc` resource (the AWS
modules cannot run here: the request is checked and recorded, the plan is not run)."""

from __future__ import annotations

import re

import pytest

from catalog.services import load_template, store_template
from provisioning.models import ResourceDependency
from tests.catalog.conftest import SHIPPED
from tests.utils import assert_error, assert_ok

from .conftest import ask

pytestmark = pytest.mark.django_db


def test_the_database_takes_vpc_id_and_subnets_from_the_vpc(
    alice, teams, envs, api_as, client_as
) -> None:
    for slug in ("vpc", "rds-postgres"):
        store_template(load_template(SHIPPED / slug))
    vpc = ask(alice, "vpc", "main-vpc", {"name": "main"})

    page = client_as(alice).get("/catalog/templates/rds-postgres/request/").content.decode()
    for name in ("p-vpc_id__resource", "p-subnet_ids__resource"):
        select = re.search(rf'<select name="{name}".*?</select>', page, re.S)
        assert select and f'value="{vpc.pk}">main-vpc (payments, dev)' in select.group(0)

    body = {"template": "rds-postgres", "team": "payments", "environment": "dev", "name": "db"}
    network = {"vpc_id": {"resource": "main-vpc"}, "subnet_ids": {"resource": vpc.pk}}
    # The vpc's public subnets are not what the parameter takes.
    wrong = {**network, "subnet_ids": {"resource": vpc.pk, "output": "public_subnet_ids"}}
    api = api_as(alice)
    assert_error(
        api.post(
            "/api/v1/resources/",
            {**body, "parameters": {"identifier": "ledger", **wrong}},
            format="json",
        ),
        400,
        "parameters.subnet_ids",
    )
    made = assert_ok(
        api.post(
            "/api/v1/resources/",
            {**body, "parameters": {"identifier": "ledger", **network}},
            format="json",
        ),
        201,
    )
    rows = ResourceDependency.objects.filter(dependant_id=made["id"]).order_by("parameter")
    assert [(r.parameter, r.upstream_id, r.output) for r in rows] == [
        ("subnet_ids", vpc.pk, "private_subnet_ids"),
        ("vpc_id", vpc.pk, "vpc_id"),
    ]
