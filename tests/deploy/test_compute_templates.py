"""The `eks-cluster` and `ec2-asg` templates: they load, their request forms render and refuse
bad input by field, and the shipped policies pass their recorded production plans and catch
what the modules are built to avoid. (Static, like every AWS module: the AWS provider cannot
be downloaded here; `tests/catalog/test_modules.py` runs fmt, parse and schema checks on
them and `tests/policies/test_static.py` the policies on their HCL.)"""

from __future__ import annotations

import copy
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import hcl2
import pytest
from django.conf import settings
from hcl2.utils import SerializationOptions

from catalog.services import load_template, sync_templates
from idp import services as idp_services
from policies.choices import BLOCKING, Level
from policies.engine import evaluate
from policies.loader import SHIPPED_DIR, ParsedPolicy, parse_policy, policy_files
from policies.static import check_modules

MODULES = Path(settings.BASE_DIR) / "terraform_modules"
PLANS = Path(settings.BASE_DIR) / "tests" / "policies" / "plans"
POLICIES = [parse_policy(path) for path in policy_files(SHIPPED_DIR)]
NEW = {"eks-cluster": "eks_cluster", "ec2-asg": "ec2_asg"}
OPTIONS = SerializationOptions(with_comments=False, strip_string_quotes=True)


def parse(path: Path) -> dict[str, Any]:
    return hcl2.loads(path.read_text(), serialization_options=OPTIONS)


def judge(slug: str, document: dict[str, Any], environment: str = "prod") -> list[tuple[str, str]]:
    """Blocking failures of every shipped policy that applies to `slug` in `environment`."""
    estimate = load_estimate(slug, document)
    document = {
        **document,
        "idp": {
            "environment": environment,
            "production": environment == "prod",
            "template": slug,
            "team": "platform",
            "destroy": False,
            "estimated_monthly_cost": float(estimate),
        },
    }
    failing = []
    for policy in POLICIES:
        if not applies(policy, slug, environment):
            continue
        for finding in evaluate(
            slug=policy.slug,
            version=1,
            package=policy.package,
            source=policy.source,
            document=document,
        ):
            if finding.level == Level.FAILURE and policy.enforcement in BLOCKING:
                failing.append((policy.slug, finding.message))
    return sorted(failing)


def applies(policy: ParsedPolicy, slug: str, environment: str) -> bool:
    scope = policy.scope
    if scope["environments"] and environment not in scope["environments"]:
        return False
    return not scope["templates"] or slug in scope["templates"]


def load_estimate(slug: str, document: dict[str, Any]) -> Decimal:
    from catalog.services.costs import estimate_monthly_cost

    inputs = {name: v["value"] for name, v in document["variables"].items()}
    estimate = estimate_monthly_cost(load_template(MODULES / slug), inputs)
    assert estimate is not None
    return estimate


def recorded(slug: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((PLANS / f"{NEW[slug]}.json").read_text())
    return document


@pytest.mark.parametrize("slug", sorted(NEW))
def test_the_recorded_production_plan_passes_every_mandatory_policy(slug: str) -> None:
    document = recorded(slug)
    # The recording is of this module: every resource block appears in it.
    hcl = parse(MODULES / slug / "main.tf")
    blocks = {f"{t}.{n}" for block in hcl["resource"] for t, named in block.items() for n in named}
    planned = {re.sub(r"\[.*\]$", "", rc["address"]) for rc in document["resource_changes"]}
    assert planned == blocks
    for environment in ("staging", "prod"):
        assert judge(slug, document, environment) == []


def test_the_static_check_finds_nothing_blocking_in_the_new_modules(tmp_path: Path) -> None:
    for slug in NEW:
        (tmp_path / slug).symlink_to(MODULES / slug)
    assert [f for f in check_modules(tmp_path, POLICIES) if f.blocking] == []


def test_an_untagged_node_group_is_denied() -> None:
    document = recorded("eks-cluster")
    node_group = next(
        rc for rc in document["resource_changes"] if rc["type"] == "aws_eks_node_group"
    )
    node_group["change"]["after"]["tags"] = {"idp:team": "platform"}
    assert judge("eks-cluster", document) == [
        (
            "required_tags",
            "aws_eks_node_group.default is missing the tags idp:environment, idp:resource",
        )
    ]


def test_ssh_opened_to_the_world_on_the_instances_is_denied() -> None:
    document = recorded("ec2-asg")
    rule = next(
        rc
        for rc in document["resource_changes"]
        if rc["type"] == "aws_vpc_security_group_ingress_rule"
    )
    ssh = copy.deepcopy(rule)
    # Its own block: someone "just adding SSH for debugging".
    ssh.update(address="aws_vpc_security_group_ingress_rule.ssh", name="ssh")
    ssh.pop("index")
    ssh["change"]["after"].update({"cidr_ipv4": "0.0.0.0/0", "from_port": 22, "to_port": 22})
    ssh["change"]["after"].pop("referenced_security_group_id")
    document["resource_changes"].append(ssh)
    assert judge("ec2-asg", document) == [
        (
            "security_groups",
            "aws_vpc_security_group_ingress_rule.ssh opens port 22 to the internet",
        )
    ]


def test_a_three_node_cluster_needs_an_override_in_dev_but_not_in_prod() -> None:
    """The cost hints make the cost limit bite where it should: $73 of control plane plus
    $73.58 a node; dev allows $200 a resource, prod $2000."""
    document = recorded("eks-cluster")
    assert load_estimate("eks-cluster", document) == Decimal("293.74")
    assert [p for p, _ in judge("eks-cluster", document, "dev")] == ["cost_limit"]
    document["variables"]["node_desired_size"]["value"] = 1
    assert judge("eks-cluster", document, "dev") == []


def test_the_auto_scaling_group_carries_the_platform_tags_and_no_ssh() -> None:
    main = parse(MODULES / "ec2-asg" / "main.tf")
    group = next(
        b["aws_autoscaling_group"]["this"] for b in main["resource"] if "aws_autoscaling_group" in b
    )
    tag = group["dynamic"][0]["tag"]
    assert tag["for_each"] == "${local.tags}" and tag["content"][0]["propagate_at_launch"] is True
    for slug in NEW:
        text = (MODULES / slug / "main.tf").read_text()
        assert "key_name" not in text and "AmazonSSMManagedInstanceCore" in text
        assert 'http_tokens                 = "required"' in text
        readme = (MODULES / slug / "README.md").read_text()
        assert "**Tested how**: statically" in readme and "cannot be" in readme
    eks = (MODULES / "eks-cluster" / "main.tf").read_text()
    assert 'resources = ["secrets"]' in eks and "endpoint_private_access = true" in eks
    assert "aws_iam_openid_connect_provider" in eks


@pytest.mark.django_db
def test_the_templates_load_and_their_forms_render_and_refuse_by_field(
    make_team: Any, client_as: Any, alice: Any, teams: Any
) -> None:
    make_team("platform")
    report = sync_templates()
    assert report.ok, report.failed
    idp_services.upsert_environment("dev", name="Development", order=10)
    client = client_as(alice)
    page = client.get("/catalog/templates/eks-cluster/request/").content.decode()
    assert re.search(r'<select name="p-kubernetes_version"', page)
    assert 'type="checkbox" name="p-public_endpoint"' in page
    assert re.search(r'<input type="number" name="p-node_desired_size" value="3"', page)
    page = client.get("/catalog/templates/ec2-asg/request/").content.decode()
    assert re.search(r'<select name="p-instance_type"', page)
    assert "idp_team" not in page
    response = client.post(
        "/catalog/templates/ec2-asg/request/",
        {
            "team": "payments",
            "environment": "dev",
            "name": "web",
            "p-group_name": "Bad Name",
            "p-vpc_id": "vpc-0abc123",
            "p-subnet_ids": '["subnet-1"]',
            "p-min_size": "2",
            "p-desired_capacity": "2",
            "p-max_size": "4",
            "p-app_port": "22",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()

    def errors_of(field: str) -> str:
        return page.split(f'id="field-{field}"')[1].split('<div class="field"')[0]

    assert "Start with a lowercase letter" in errors_of("p-group_name")
    assert "Give at least two subnets" in errors_of("p-subnet_ids")
    assert "no privileged ports" in errors_of("p-app_port")
