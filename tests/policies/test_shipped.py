"""The shipped policies, each on recorded plan JSON: what they deny, and what they let pass."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from policies.choices import Level, PolicyKind
from policies.engine import Finding, evaluate
from policies.loader import SHIPPED_DIR, parse_policy, policy_files

PLANS = Path(__file__).parent / "plans"


def plan(name: str, **idp: Any) -> dict[str, Any]:
    document = json.loads((PLANS / f"{name}.json").read_text())
    document["idp"] = {"environment": "prod", "destroy": False, **idp}
    return document


def run(slug: str, document: dict[str, Any]) -> list[Finding]:
    parsed = parse_policy(SHIPPED_DIR / f"{slug}.rego")
    return evaluate(
        slug=slug, version=1, package=parsed.package, source=parsed.source, document=document
    )


def failures(findings: list[Finding]) -> list[tuple[str, str]]:
    return sorted((f.address, f.message) for f in findings if f.level == Level.FAILURE)


def test_every_shipped_policy_loads_with_a_known_enforcement() -> None:
    slugs = {parse_policy(path).slug for path in policy_files(SHIPPED_DIR)}
    assert slugs == {
        "cost_limit",
        "example_replicas",
        "lambda_runtimes",
        "rds_production",
        "required_tags",
        "s3_buckets",
        "security_groups",
        # approval rules (tests/policies/test_approval_rules_rego.py)
        "cost_share",
        "noop_and_tags",
        "open_to_internet",
        "stateful_changes",
    }


# (policy, plan, [(address, what the message says after the address)])
CASES = [
    ("required_tags", "untagged_queue", [
        ("aws_sqs_queue.this", "is missing the tags idp:environment, idp:resource"),
    ]),
    ("required_tags", "s3_compliant", []),
    ("required_tags", "tags_unknown", []),  # known only after apply: not judged
    ("s3_buckets", "s3_public", [
        ("aws_s3_bucket.this", "has no default encryption "
         "(aws_s3_bucket_server_side_encryption_configuration)"),
        ("aws_s3_bucket.this", "has the public ACL public-read"),
        ("aws_s3_bucket_public_access_block.this", "leaves block_public_acls off"),
    ]),
    ("s3_buckets", "s3_compliant", []),
    ("security_groups", "sg_open_ssh", [
        ("aws_security_group.db", "opens port 22 to the internet"),
        ("aws_vpc_security_group_ingress_rule.pg", "opens port 5432 to the internet"),
    ]),
    ("security_groups", "sg_https_open", []),
    ("rds_production", "rds_weak", [
        ("aws_db_instance.this", "must be deletion-protected in production "
         "(deletion_protection = true)"),
        ("aws_db_instance.this", "must be multi-AZ in production (multi_az = true)"),
    ]),
    ("rds_production", "rds_strong", []),
    ("lambda_runtimes", "lambda_old", [
        ("aws_lambda_function.this", "uses the deprecated runtime nodejs16.x"),
    ]),
    ("lambda_runtimes", "lambda_current", []),
    ("example_replicas", "example_replicas_7", [
        ("terraform_data.config", "asks for 7 replicas; prod allows at most 5"),
    ]),
    ("example_replicas", "example_replicas_5", []),
]  # fmt: skip


@pytest.mark.parametrize(("slug", "plan_name", "expected"), CASES)
def test_policy_on_recorded_plan(slug: str, plan_name: str, expected: list[Any]) -> None:
    findings = run(slug, plan(plan_name))
    assert failures(findings) == sorted((a, f"{a} {says}") for a, says in expected)
    if not expected:
        assert [f.level for f in findings] == [Level.PASSED]


@pytest.mark.parametrize(
    ("environment", "cost", "denied"),
    [
        ("sandbox", 60.0, True),
        ("sandbox", 40.0, False),
        ("prod", 1999.0, False),
        ("prod", 2500.5, True),
    ],
)
def test_cost_limit_per_environment(environment: str, cost: float, denied: bool) -> None:
    findings = run(
        "cost_limit", plan("s3_compliant", environment=environment, estimated_monthly_cost=cost)
    )
    assert bool(failures(findings)) is denied
    if denied:
        assert f"${cost:.2f}/month is over the {environment} limit" in failures(findings)[0][1]


def test_cost_limit_never_holds_a_destroy_or_an_unknown_cost() -> None:
    destroy = plan("s3_compliant", estimated_monthly_cost=9999.0, destroy=True)
    unknown = plan("s3_compliant", estimated_monthly_cost=None)
    assert failures(run("cost_limit", destroy)) == []
    assert failures(run("cost_limit", unknown)) == []


@pytest.mark.parametrize(
    "slug",
    sorted(
        parse_policy(p).slug
        for p in policy_files(SHIPPED_DIR)
        if parse_policy(p).kind == PolicyKind.POLICY
    ),
)
def test_a_destroy_plan_passes_every_shipped_policy(slug: str) -> None:
    """A plan that only deletes (`after` is null) is judged, and passes: what goes away
    cannot break a rule. (A policy that errored on the nulls held every destroy.)"""
    findings = run(slug, plan("destroy_everything", destroy=True, estimated_monthly_cost=9999.0))
    assert [(f.level, f.message) for f in findings] == [(Level.PASSED, "")]
