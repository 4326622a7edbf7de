"""Approval rules on the plan, through the workflow and the surfaces: a stateful replacement
in prod waits for two approvals, one an admin's (and the inbox, banner, API and CLI say
why); a no-op change is auto-approved where the environment allows it and audited as the
rule that approved it, and waits where it does not; a service account's change is never
auto-approved. The last tests run real Terraform on a real worker."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from idp.choices import Role
from idp.crypto import encrypt_json
from idp.models import AuditEvent, Environment
from idp.service_accounts import create_service_account
from idp.services import Forbidden
from policies.services import sync_policies
from provisioning import actions, workflow
from provisioning.actions import inbox
from provisioning.approval_policy import ApprovalPolicy, Requirement, decidable_plans
from provisioning.choices import AuditAction, ResourceStatus, RunKind, RunStatus
from provisioning.models import Approval, Resource, ResourceDependency, Run
from provisioning.plan_summary import plan_text, summarize_plan
from tests.utils import assert_ok

PLANS = Path(__file__).parents[2] / "policies" / "plans" / "approval"


@pytest.fixture
def rules(db: None, settings: Any) -> None:
    """The shipped policies and approval rules, loaded as a worker loads them."""
    settings.IDP_POLICY_DIRS = []
    report = sync_policies()
    assert report.ok, report.failed


def recorded(name: str, *, outputs: bool = False) -> dict[str, Any]:
    document = json.loads((PLANS / f"{name}.json").read_text())
    if outputs:
        # Only an output changes (the module's token): Terraform still has work to do.
        document["output_changes"] = {
            "secret_token": {"actions": ["update"], "before": "a", "after": "b"}
        }
    return document


def finish_plan(resource: Resource, document: dict[str, Any], *, by: Any) -> Run:
    """A plan of `resource` by `by` ends with the recorded plan `document`: the workflow
    takes it from there as after a real plan (checks, approval rules, next step)."""
    Resource.objects.filter(pk=resource.pk).update(status=ResourceStatus.PLANNING)
    run = Run.objects.create(
        resource=resource,
        kind=RunKind.PLAN,
        status=RunStatus.RUNNING,
        template_version=resource.template_version,
        parameters={**resource.parameters, "message": "changed"},
        created_by=by,
        started_at=timezone.now(),
    )
    summary = summarize_plan(document)
    outcome = workflow.PlanOutcome(
        plan=document,
        file=b"plan",
        digest=hashlib.sha256(json.dumps(document).encode()).hexdigest(),
        summary=summary,
        text=plan_text(summary),
        changes={},
        document=encrypt_json(document),
    )
    workflow.plan_finished(run, outcome, run.parameters)
    run.refresh_from_db()
    resource.refresh_from_db()
    return run


@pytest.fixture
def database(make_resource, envs, teams, alice, rules) -> Resource:
    """payments' production database, applied, with three resources taking its outputs."""
    pay = teams["payments"]
    db = make_resource(
        pay,
        "orders-db",
        environment=envs["prod"],
        requested_by=alice,
        provisioned_at=timezone.now(),
    )
    for name in ("api", "worker", "reports"):
        dependant = make_resource(pay, name, environment=envs["prod"])
        ResourceDependency.objects.create(
            dependant=dependant, upstream=db, parameter="db", output="endpoint"
        )
    return db


def test_replacing_a_stateful_resource_needs_two_approvals_one_an_admin(
    database, alice, bob, make_user, teams, api_as, client_as
):
    erin = make_user("erin", team=teams["payments"], role=Role.MAINTAINER)
    dave = make_user("dave", team=teams["payments"], role=Role.ADMIN)
    plan = finish_plan(database, recorded("rds_replace"), by=alice)
    assert database.status == ResourceStatus.AWAITING_APPROVAL
    requirement = Requirement.from_json(plan.approval_requirement)
    reason = (
        "replaces aws_db_instance.main (stateful) in prod; 3 resource(s) depend on it "
        "(rule stateful_changes)"
    )
    assert (requirement.approvals, requirement.role) == (2, "admin")
    assert requirement.reasons == ("prod requires 1 approval", reason)
    assert requirement.summary == "2 approvals, one an admin"
    assert requirement.rules == ("stateful_changes",)
    assert plan.risk == requirement.risk > 0

    # Every surface says what it needs and why.
    item = assert_ok(api_as(bob).get("/api/v1/approvals/"))["results"][0]
    assert item["approvals"]["summary"] == "2 approvals, one an admin"
    assert item["approvals"]["role"] == "admin" and reason in item["approvals"]["reasons"]
    detail = assert_ok(api_as(bob).get(f"/api/v1/runs/{plan.pk}/"))
    assert detail["approval_requirement"]["reasons"] == list(requirement.reasons)
    resource = assert_ok(api_as(bob).get(f"/api/v1/resources/{database.pk}/"))
    assert reason in resource["proposed"]["approval"]["reasons"]
    page = client_as(bob).get(f"/resources/{database.pk}/").content.decode()
    assert "one of them from an admin of payments" in page and "3 resource(s) depend" in page
    listed = client_as(bob).get("/resources/approvals/").content.decode()
    assert "one an admin" in listed and "(rule stateful_changes)" in listed

    # bob, a maintainer, gives the first approval; it waits for an admin's.
    actions.approve(database, actor=bob)
    database.refresh_from_db()
    assert database.status == ResourceStatus.AWAITING_APPROVAL
    # A second maintainer's approval alone does not apply it: erin may not give the last one.
    refusal = ApprovalPolicy.of(database).refusal(database, plan, erin)
    assert refusal is not None and "an admin of payments" in refusal
    assert plan.pk not in set(decidable_plans(erin).values_list("pk", flat=True))
    with pytest.raises(Forbidden, match="admin of payments"):
        actions.approve(database, actor=erin)
    assert not ApprovalPolicy.of(database).satisfied(plan)
    assert plan.pk in set(decidable_plans(dave).values_list("pk", flat=True))
    actions.approve(database, actor=dave)
    database.refresh_from_db()
    assert database.status == ResourceStatus.APPLYING


def test_two_maintainers_do_not_satisfy_an_admin_requirement(
    database, alice, bob, make_user, teams
):
    """Even when both approvals exist (given before the rule asked for an admin), the plan
    is not satisfied without an admin among them."""
    erin = make_user("erin", team=teams["payments"], role=Role.MAINTAINER)
    plan = finish_plan(database, recorded("rds_replace"), by=alice)
    for who in (bob, erin):
        Approval.objects.create(
            resource=database,
            run=plan,
            decision="approved",
            decided_by=who,
            plan_hash=plan.plan_hash,
            policy_digest=plan.policy_summary["digest"],
        )
    assert not ApprovalPolicy.of(database).satisfied(plan)


def test_the_inbox_puts_the_riskiest_plan_first(database, make_resource, envs, teams, alice, bob):
    small = make_resource(
        teams["payments"],
        "small",
        environment=envs["prod"],
        requested_by=alice,
        provisioned_at=timezone.now(),
    )
    finish_plan(small, recorded("rds_resize"), by=alice)  # planned first: its window closes first
    risky = finish_plan(database, recorded("rds_replace"), by=alice)
    assert [i.plan_run for i in inbox.inbox_items(bob)][0] == risky.pk
    assert list(inbox.awaiting_ids(bob))[0] == risky.pk


@pytest.fixture
def allowing(envs) -> Environment:
    envs["prod"].auto_approve_allowed = True
    envs["prod"].save(update_fields=["auto_approve_allowed"])
    return envs["prod"]


def test_a_noop_change_is_auto_approved_where_the_environment_allows(
    database, allowing, alice, bob
):
    plan = finish_plan(database, recorded("noop", outputs=True), by=alice)
    assert database.status == ResourceStatus.APPLYING
    requirement = Requirement.from_json(plan.approval_requirement)
    assert requirement.auto_approved_by == "noop_and_tags" and not requirement.needed
    assert requirement.summary == "auto-approved by rule noop_and_tags"
    event = AuditEvent.objects.get(action=AuditAction.AUTO_APPROVED, target_id=str(database.pk))
    assert event.actor is None and event.details["rule"] == "noop_and_tags"
    assert event.details["message"] == "auto-approved by rule noop_and_tags"
    # The system applies it in the rule's name; no person approved, no toucher counts.
    apply_run = database.runs.get(kind=RunKind.APPLY)
    assert apply_run.created_by is None and apply_run.plan_run_id == plan.pk
    assert alice.pk in apply_run.authors
    assert not Approval.objects.filter(run=plan).exists()


def test_the_same_change_waits_where_the_environment_does_not_allow(database, alice):
    plan = finish_plan(database, recorded("noop", outputs=True), by=alice)
    assert database.status == ResourceStatus.AWAITING_APPROVAL
    requirement = Requirement.from_json(plan.approval_requirement)
    assert requirement.auto_approved_by == "" and requirement.approvals == 1
    assert not AuditEvent.objects.filter(action=AuditAction.AUTO_APPROVED).exists()


def test_a_service_accounts_change_is_never_auto_approved(database, allowing, bob, teams):
    robot = create_service_account(teams["payments"], "robot", role=Role.MAINTAINER, actor=bob)
    plan = finish_plan(database, recorded("noop", outputs=True), by=robot.user)
    assert database.status == ResourceStatus.AWAITING_APPROVAL
    assert Requirement.from_json(plan.approval_requirement).auto_approved_by == ""
    blockers = ApprovalPolicy.of(database).auto_approval_blockers(
        database, plan, recorded("noop"), plan.policy_summary, Requirement(approvals=1)
    )
    assert blockers == [f"service account {robot.username} touched it"]


def test_a_tags_only_change_is_auto_approved_where_the_environment_allows(
    database, allowing, alice
):
    plan = finish_plan(database, recorded("s3_tags_only"), by=alice)
    assert plan.policy_summary["failures"] == plan.policy_summary["warnings"] == 0
    requirement = Requirement.from_json(plan.approval_requirement)
    assert requirement.auto_approved_by == "noop_and_tags"
    assert requirement.reasons == (
        "auto-approved by rule noop_and_tags: the plan changes only tags (aws_s3_bucket.site)",
    )
    assert database.status == ResourceStatus.APPLYING


def test_a_replacement_or_a_policy_warning_rules_auto_approval_out(database, allowing, alice):
    plan = finish_plan(database, recorded("noop", outputs=True), by=alice)
    blockers = ApprovalPolicy.of(database).auto_approval_blockers(
        database, plan, recorded("rds_replace"), {"warnings": 1}, Requirement(approvals=1)
    )
    assert blockers == [
        "it destroys or replaces aws_db_instance.main",
        "a policy fails or warns on it",
    ]
    over = Requirement(approvals=1, over_budget=True)
    assert ApprovalPolicy.of(database).auto_approval_blockers(
        database, plan, recorded("noop"), {}, over
    ) == ["it takes payments over its budget"]


# --- end to end: real Terraform on a real worker --------------------------------------------


@pytest.mark.integration
@pytest.mark.slow
def test_e2e_a_noop_change_applies_without_a_human_only_where_allowed(
    celery_worker, aws, settings, tmp_path, api_as, alice, bob, envs, template, make_user, teams
):
    from provisioning.engine.backend import ensure_state_bucket

    from .test_e2e import settled, wait_for

    settings.IDP_WORK_DIR = tmp_path / "runs"
    settings.IDP_PLUGIN_CACHE_DIR = tmp_path.parent / "plugin-cache"
    settings.IDP_POLICY_DIRS = []
    ensure_state_bucket()
    assert sync_policies().ok
    envs["prod"].auto_approve_allowed = True
    envs["prod"].save(update_fields=["auto_approve_allowed"])
    Environment.objects.create(
        slug="prod-eu", name="Prod EU", order=4, requires_approval=True, is_production=True
    )
    version = template.current_version
    version.allowed_environments = ["dev", "prod", "prod-eu"]
    version.save(update_fields=["allowed_environments"])

    alice_api, bob_api = api_as(alice), api_as(bob)
    pks = {}
    for env in ("prod", "prod-eu"):
        body = alice_api.post(
            "/api/v1/resources/",
            {
                "template": "example-config",
                "team": "payments",
                "environment": env,
                "name": f"cfg-{env}",
                "parameters": {"message": "one", "token": "first"},
            },
        )
        pks[env] = assert_ok(body, 201)["id"]
    # One thing at a time on the worker: SQLite (`make run`) takes one writer at a time.
    for env, pk in pks.items():
        wait_for(lambda pk=pk: settled(pk, "awaiting_approval", "failed"), f"the {env} plan")
    for env, pk in pks.items():
        # Creating is never auto-approved: bob approves the first apply.
        assert_ok(bob_api.post(f"/api/v1/resources/{pk}/approve/", {}))
        wait_for(lambda pk=pk: settled(pk, "provisioned", "failed"), f"the {env} apply")

    # alice rotates the token: Terraform changes no resource, only an output.
    allowed, refused = pks["prod"], pks["prod-eu"]
    change = {"parameters": {"message": "one", "token": "2nd"}}
    assert_ok(alice_api.patch(f"/api/v1/resources/{allowed}/", change), 202)
    wait_for(
        lambda: (
            settled(allowed, "provisioned", "failed")
            and Run.objects.filter(resource_id=allowed, kind=RunKind.APPLY).count() == 2
        ),
        "the prod change",
    )
    assert_ok(alice_api.patch(f"/api/v1/resources/{refused}/", change), 202)
    wait_for(
        lambda: (
            settled(refused, "awaiting_approval", "failed")
            and Run.objects.filter(resource_id=refused, kind=RunKind.PLAN).count() == 2
        ),
        "the prod-eu change",
    )
    assert Resource.objects.get(pk=allowed).status == ResourceStatus.PROVISIONED
    plan = Run.objects.filter(resource_id=allowed, kind=RunKind.PLAN).latest("pk")
    assert plan.approval_requirement["auto_approved_by"] == "noop_and_tags"
    assert not Approval.objects.filter(run=plan).exists()
    apply_run = Run.objects.get(plan_run=plan)
    assert apply_run.status == RunStatus.SUCCEEDED and apply_run.created_by is None
    # The audit log (a team admin's view) names the rule that approved it.
    dave = make_user("dave", team=teams["payments"], role=Role.ADMIN)
    audit_log = f"/api/v1/audit/?action={AuditAction.AUTO_APPROVED.value}"
    events = assert_ok(api_as(dave).get(audit_log))["results"]
    assert [(e["actor_name"], e["details"]["rule"]) for e in events] == [
        ("system", "noop_and_tags")
    ]

    waiting = Run.objects.filter(resource_id=refused, kind=RunKind.PLAN).latest("pk")
    requirement = Requirement.from_json(waiting.approval_requirement)
    assert requirement.needed and requirement.auto_approved_by == ""
    assert AuditEvent.objects.filter(action=AuditAction.AUTO_APPROVED).count() == 1
