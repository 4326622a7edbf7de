"""Policies on the exact plan, end to end: real Terraform on `tf_echo` (S3 state on moto), a
Rego policy loaded from a policy folder, the plan held in `policy_failed`, an override, and
re-evaluation when the policy changes (which voids approvals given on the old results)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from idp.models import AuditEvent
from idp.services import Forbidden
from policies.models import PolicyResult
from policies.services import sync_policies
from provisioning import actions
from provisioning.approval_policy import ApprovalPolicy
from provisioning.choices import ResourceEvent, ResourceStatus, RunKind, RunStatus

from .conftest import request_module

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db]

POLICY = """# METADATA
# title: No forbidden words
# custom:
#   enforcement: {enforcement}
#   templates: [tf-echo]
#   environments: [prod]
package idp.words

import rego.v1

deny contains {{"msg": sprintf("the message %s is forbidden", [rc.change.after.input]),
                "address": rc.address}} if {{
	some rc in input.resource_changes
	rc.type == "terraform_data"
	rc.change.after.input in {words}
}}

warn contains "prod changes are reviewed" if input.idp.environment == "prod"
"""


def write_policy(folder: Path, *, words: str = '{"forbidden"}', enforcement: str = "mandatory"):
    (folder / "words.rego").write_text(POLICY.format(words=words, enforcement=enforcement))
    report = sync_policies()
    assert "words" in report.loaded, report.failed
    return report


@pytest.fixture
def policy_dir(tmp_path: Path, settings: Any) -> Path:
    folder = tmp_path / "policies"
    folder.mkdir()
    settings.IDP_POLICY_DIRS = [str(folder)]
    return folder


def test_a_mandatory_failure_holds_the_plan_until_the_request_changes(
    alice, bob, teams, envs, echo, state, drive, policy_dir
):
    write_policy(policy_dir)
    resource = request_module(alice, teams["payments"], env="prod", message="forbidden")
    (plan,) = drive(resource)
    assert plan.status == RunStatus.SUCCEEDED, plan.error
    assert resource.status == ResourceStatus.POLICY_FAILED
    summary = plan.policy_summary
    assert (summary["failures"], summary["blocking"], summary["overridable"]) == (1, 1, False)
    words = [r for r in summary["results"] if r["policy"] == "words"]
    assert {(r["level"], r["address"]) for r in words} == {
        ("failure", "terraform_data.echo"),
        ("warning", ""),
    }
    assert {r["message"] for r in words} == {
        "the message forbidden is forbidden",
        "prod changes are reviewed",
    }
    assert PolicyResult.objects.filter(run=plan, level="failure").count() == 1

    # Nobody may approve it, not even a platform admin through break-glass.
    with pytest.raises(Forbidden, match="fails a mandatory policy"):
        actions.approve(resource, actor=bob)
    assert "approve" not in actions.allowed_actions(resource, bob)

    # The requester changes what the policy named; the new plan waits for bob.
    actions.change_parameters(resource, {"message": "fine"}, actor=alice)
    (second,) = drive(resource)
    assert second.kind == RunKind.PLAN and second.status == RunStatus.SUCCEEDED
    assert resource.status == ResourceStatus.AWAITING_APPROVAL
    assert second.policy_summary["blocking"] == 0
    actions.approve(resource, actor=bob)
    drive(resource)
    assert resource.status == ResourceStatus.PROVISIONED
    assert resource.outputs["echo"] == "fine"


def test_an_overridable_failure_needs_a_platform_admin_and_still_its_approvals(
    alice, bob, platform_admin, teams, envs, echo, state, drive, policy_dir
):
    write_policy(policy_dir, enforcement="mandatory-overridable")
    resource = request_module(alice, teams["payments"], env="prod", message="forbidden")
    (plan,) = drive(resource)
    assert resource.status == ResourceStatus.POLICY_FAILED
    assert plan.policy_summary["overridable"] is True

    with pytest.raises(Forbidden):
        actions.override_policy(resource, actor=bob, reason="I am sure")
    with pytest.raises(Exception, match="reason"):
        actions.override_policy(resource, actor=platform_admin, reason="  ")

    overridden = actions.override_policy(
        resource, actor=platform_admin, reason="demo of the override", plan_run=plan.pk
    )
    assert overridden.plan.pk == plan.pk and overridden.apply_run is None
    assert overridden.status == ResourceStatus.AWAITING_APPROVAL
    assert overridden.message == (
        f"Policy failure of {resource.name} overridden; the plan now awaits its approvals."
    )
    resource.refresh_from_db()
    plan.refresh_from_db()
    assert resource.status == ResourceStatus.AWAITING_APPROVAL
    assert plan.policy_summary["override"]["by"] == platform_admin.get_username()
    assert AuditEvent.objects.filter(
        action=ResourceEvent.POLICY_OVERRIDDEN, target_id=str(resource.pk)
    ).exists()
    actions.approve(resource, actor=bob)
    drive(resource)
    assert resource.status == ResourceStatus.PROVISIONED


def test_a_policy_change_re_evaluates_pending_plans_and_voids_old_approvals(
    alice, bob, teams, envs, echo, state, drive, policy_dir
):
    envs["prod"].approvals_required = 2
    envs["prod"].save()
    write_policy(policy_dir)
    resource = request_module(alice, teams["payments"], env="prod", message="later")
    (plan,) = drive(resource)
    assert resource.status == ResourceStatus.AWAITING_APPROVAL
    actions.approve(resource, actor=bob)
    policy = ApprovalPolicy.of(resource)
    plan.refresh_from_db()
    assert [a.decided_by for a in policy.valid_approvals(plan)] == [bob]

    # The policy now forbids "later": the waiting plan fails it.
    report = write_policy(policy_dir, words='{"forbidden", "later"}')
    assert report.reevaluated == 1
    resource.refresh_from_db()
    plan.refresh_from_db()
    assert resource.status == ResourceStatus.POLICY_FAILED
    assert plan.policy_summary["blocking"] == 1

    # A third version passes it again, but bob approved other results: his approval is void.
    write_policy(policy_dir, words='{"forbidden", "other"}')
    resource.refresh_from_db()
    plan.refresh_from_db()
    assert resource.status == ResourceStatus.AWAITING_APPROVAL
    assert plan.policy_summary["blocking"] == 0
    assert policy.valid_approvals(plan) == []
    assert "approve" in actions.allowed_actions(resource, bob)
