"""The shipped approval rules, each on recorded plan JSON: what each asks for (or
auto-approves), and the plans it leaves alone. Pure Rego through the same engine; the
platform's side (floor, blockers, auto-approval) is `test_auto_approval.py`'s."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from policies.approval_rules import draft_rule, evaluate_rules
from policies.choices import PolicyKind
from policies.engine import PolicyError, Source
from policies.loader import SHIPPED_DIR, parse_policy
from provisioning.approval_policy import (
    Requirement,
    RuleRequirement,
    RulesAnswer,
    raise_by_rules,
)

PLANS = Path(__file__).parent / "plans" / "approval"
RULES = SHIPPED_DIR / "approval"


def plan(name: str, **idp: Any) -> dict[str, Any]:
    document = json.loads((PLANS / f"{name}.json").read_text())
    document["idp"] = {
        "environment": "prod",
        "production": True,
        "destroy": False,
        "team": "payments",
        "dependants": [],
        "cost": {"before": 10.0, "after": 10.0, "delta": 0.0},
        "budget_remaining": 1000.0,
        "approval_cost_share": 0.5,
        **idp,
    }
    return document


def answer(slug: str, document: dict[str, Any]) -> RulesAnswer:
    parsed = parse_policy(RULES / f"{slug}.rego")
    assert parsed.kind == PolicyKind.APPROVAL
    return evaluate_rules([Source(slug, 1, parsed.package, parsed.source)], document)


def required(slug: str, document: dict[str, Any]) -> list[tuple[int, str, str]]:
    found = answer(slug, document)
    assert found.errors == ()
    return sorted((r.approvals, r.role, r.reason) for r in found.requirements)


def auto(slug: str, document: dict[str, Any]) -> list[str]:
    found = answer(slug, document)
    assert found.errors == () and found.requirements == ()
    return [reason for _, reason in found.auto_approve]


def test_every_shipped_approval_rule_loads_as_an_approval_rule() -> None:
    slugs = {parse_policy(p).slug for p in sorted(RULES.glob("*.rego"))}
    assert slugs == {"cost_share", "noop_and_tags", "open_to_internet", "stateful_changes"}
    for path in RULES.glob("*.rego"):
        parsed = parse_policy(path)
        assert parsed.title and parsed.description, path.name
        assert parsed.package == f"idp.approval.{parsed.slug}"


# --- (a) no-op and tags-only plans in production -------------------------------------------


def test_a_noop_plan_in_prod_may_be_auto_approved() -> None:
    assert auto("noop_and_tags", plan("noop")) == ["the plan changes no resource"]
    # An empty plan (only outputs change) too.
    empty = {"resource_changes": [], "idp": plan("noop")["idp"]}
    assert auto("noop_and_tags", empty) == ["the plan changes no resource"]


def test_a_tags_only_plan_in_prod_may_be_auto_approved() -> None:
    assert auto("noop_and_tags", plan("s3_tags_only")) == [
        "the plan changes only tags (aws_s3_bucket.site)"
    ]


@pytest.mark.parametrize(
    "name", ["s3_tags_and_versioning", "rds_resize", "rds_replace", "queue_destroy"]
)
def test_any_other_change_is_never_auto_approved(name: str) -> None:
    assert auto("noop_and_tags", plan(name)) == []


def test_outside_production_or_for_a_destroy_the_rule_says_nothing() -> None:
    assert auto("noop_and_tags", plan("noop", production=False, environment="dev")) == []
    assert auto("noop_and_tags", plan("noop", destroy=True)) == []


def test_a_tags_update_with_another_attribute_unknown_is_not_tags_only() -> None:
    document = plan("s3_tags_only")
    document["resource_changes"][0]["change"]["after_unknown"] = {"arn": True}
    assert auto("noop_and_tags", document) == []
    document["resource_changes"][0]["change"]["after_unknown"] = {"tags_all": True}
    assert auto("noop_and_tags", document) != []


# --- (b) replacing or destroying stateful resources in production ---------------------------


def test_replacing_a_database_in_prod_needs_two_approvals_one_an_admin() -> None:
    three = [{"resource": n, "environment": "prod"} for n in ("api", "worker", "reports")]
    assert required("stateful_changes", plan("rds_replace", dependants=three)) == [
        (
            2,
            "admin",
            "replaces aws_db_instance.main (stateful) in prod; 3 resource(s) depend on it",
        )
    ]


def test_destroying_a_queue_in_prod_needs_two_approvals_one_an_admin() -> None:
    assert required("stateful_changes", plan("queue_destroy", destroy=True)) == [
        (2, "admin", "destroys aws_sqs_queue.jobs (stateful) in prod")
    ]


@pytest.mark.parametrize("name", ["rds_resize", "lambda_replace", "s3_tags_only", "noop"])
def test_in_place_changes_and_stateless_replacements_add_nothing(name: str) -> None:
    assert required("stateful_changes", plan(name)) == []


def test_outside_production_a_database_replacement_adds_nothing() -> None:
    assert required("stateful_changes", plan("rds_replace", production=False)) == []


# --- (c) opening a security group or IAM to everyone ----------------------------------------


def test_widening_a_security_group_to_the_internet_needs_a_platform_admin() -> None:
    assert required("open_to_internet", plan("sg_widened")) == [
        (
            1,
            "platform_admin",
            "aws_security_group.web opens ports 443-443 to the internet (0.0.0.0/0)",
        )
    ]
    assert required("open_to_internet", plan("sg_rule_open")) == [
        (
            1,
            "platform_admin",
            "aws_vpc_security_group_ingress_rule.https opens ports 443-443 to the internet "
            "(0.0.0.0/0)",
        )
    ]


def test_wildcard_iam_and_public_resource_policies_need_a_platform_admin() -> None:
    assert required("open_to_internet", plan("iam_wildcard")) == [
        (1, "platform_admin", 'aws_iam_role_policy.app allows any principal or any action ("*")')
    ]
    assert required("open_to_internet", plan("bucket_policy_public")) == [
        (
            1,
            "platform_admin",
            'aws_s3_bucket_policy.site allows any principal or any action ("*")',
        )
    ]


@pytest.mark.parametrize("name", ["sg_already_open_tags", "iam_scoped", "noop", "rds_replace"])
def test_what_was_open_before_or_is_scoped_adds_nothing(name: str) -> None:
    assert required("open_to_internet", plan(name)) == []


# --- (d) a cost increase against the remaining budget -------------------------------------


def test_a_cost_increase_over_half_the_remaining_budget_needs_an_admin() -> None:
    document = plan(
        "rds_resize", cost={"before": 100.0, "after": 400.0, "delta": 300.0}, budget_remaining=500.0
    )
    assert required("cost_share", document) == [
        (
            1,
            "admin",
            "its cost rises by $300.00/month, over 50% of what is left of the payments budget "
            "($500.00/month)",
        )
    ]


def test_a_smaller_increase_a_decrease_no_budget_or_a_destroy_adds_nothing() -> None:
    rising = {"before": 100.0, "after": 300.0, "delta": 200.0}
    assert required("cost_share", plan("rds_resize", cost=rising, budget_remaining=500.0)) == []
    falling = {"before": 400.0, "after": 100.0, "delta": -300.0}
    assert required("cost_share", plan("rds_resize", cost=falling, budget_remaining=10.0)) == []
    steep = {"before": 0.0, "after": 900.0, "delta": 900.0}
    assert required("cost_share", plan("rds_resize", cost=steep, budget_remaining=None)) == []
    assert required("cost_share", plan("queue_destroy", cost=steep, destroy=True)) == []
    # The share is a setting the rule reads from its input.
    assert required(
        "cost_share",
        plan("rds_resize", cost=rising, budget_remaining=500.0, approval_cost_share=0.25),
    )


# --- the contract, and the platform's side ---------------------------------------------


def test_a_broken_or_malformed_rule_is_an_error_never_a_pass() -> None:
    bad_role = Source(
        "bad_role",
        1,
        "idp.approval.bad_role",
        "package idp.approval.bad_role\nimport rego.v1\n"
        'require contains {"role": "boss"} if true\n',
    )
    found = evaluate_rules([bad_role], plan("noop"))
    assert found.requirements == () and found.errors[0][0] == "bad_role"
    assert "role must be one of" in found.errors[0][1]
    raised = raise_by_rules(Requirement(), found, blockers=[])
    assert raised.approvals == 1 and "bad_role could not be evaluated" in raised.reasons[0]


def test_a_draft_rule_is_checked_before_it_is_used() -> None:
    with pytest.raises(PolicyError, match="under idp.approval"):
        draft_rule("package idp.words\nimport rego.v1\n")
    with pytest.raises(PolicyError, match="draft.rego:3"):
        draft_rule("package idp.approval.x\nimport rego.v1\nrequire contains if {\n")
    draft = draft_rule(
        "package idp.approval.everything\nimport rego.v1\n"
        'require contains {"approvals": 3, "msg": "all plans"} if true\n'
    )
    found = evaluate_rules([draft], plan("noop"))
    assert found.requirements == (RuleRequirement("draft", 3, "", "all plans"),)


def test_rules_only_add_and_auto_approval_needs_nothing_against_it() -> None:
    floor = Requirement(approvals=1, reasons=("prod requires 1 approval",))
    stateful = RuleRequirement("stateful_changes", 2, "admin", "replaces aws_db_instance.main")
    raised = raise_by_rules(floor, RulesAnswer(requirements=(stateful,)), blockers=[])
    assert (raised.approvals, raised.role, raised.platform_admin) == (2, "admin", False)
    assert raised.reasons == (
        "prod requires 1 approval",
        "replaces aws_db_instance.main (rule stateful_changes)",
    )
    assert raised.summary == "2 approvals, one an admin" and raised.risk > floor.risk
    # A rule asking for less than the floor changes nothing but the reasons.
    less = RuleRequirement("x", 1, "maintainer", "small")
    kept = raise_by_rules(Requirement(approvals=3), RulesAnswer(requirements=(less,)), blockers=[])
    assert kept.approvals == 3

    allowed = RulesAnswer(auto_approve=(("noop_and_tags", "the plan changes no resource"),))
    auto = raise_by_rules(floor, allowed, blockers=[])
    assert (auto.approvals, auto.auto_approved_by, auto.needed) == (0, "noop_and_tags", False)
    assert auto.reasons == ("auto-approved by rule noop_and_tags: the plan changes no resource",)
    assert auto.summary == "auto-approved by rule noop_and_tags"
    # Blocked, or another rule adds something: the floor stands.
    blocked = raise_by_rules(floor, allowed, blockers=["prod does not allow it"])
    assert (blocked.approvals, blocked.reasons, blocked.auto_approved_by) == (
        1,
        floor.reasons,
        "",
    )
    both = RulesAnswer(requirements=(stateful,), auto_approve=allowed.auto_approve)
    assert raise_by_rules(floor, both, blockers=[]).approvals == 2
    # Nothing to approve (a dev plan): nothing to auto-approve either.
    assert raise_by_rules(Requirement(), allowed, blockers=[]).auto_approved_by == ""


def test_test_policy_shows_what_an_approval_rule_asks_for() -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command(
        "test_policy",
        str(RULES / "stateful_changes.rego"),
        str(PLANS / "rds_replace.json"),
        context=json.dumps({"environment": "prod", "production": True}),
        stdout=out,
    )
    assert "REQUIRE  2 approval(s), one admin: replaces aws_db_instance.main" in out.getvalue()
    out = StringIO()
    call_command(
        "test_policy",
        str(RULES / "noop_and_tags.rego"),
        str(PLANS / "noop.json"),
        context=json.dumps({"environment": "prod", "production": True}),
        stdout=out,
    )
    assert "AUTO     auto-approve: the plan changes no resource" in out.getvalue()


def test_the_policy_what_if_takes_an_approval_rule_as_one() -> None:
    from policies.choices import PolicyKind
    from policies.whatif import parse_draft

    source = (RULES / "stateful_changes.rego").read_text()
    # Replayed as a rule (tests/policies/test_whatif.py), never as a deny/warn that passes all.
    assert parse_draft(source, "stateful_changes.rego").kind == PolicyKind.APPROVAL
