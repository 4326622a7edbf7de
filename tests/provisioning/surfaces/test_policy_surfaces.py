"""A plan its policies hold, as people meet it: the API's `policy`, the resource page's
banner and results, the override (platform admins only, reason required) through the API
and the portal (the CLI's `show` and `diff`: tests/cli/test_policy_output.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from idp.models import AuditEvent
from provisioning import actions
from provisioning.choices import ResourceEvent, ResourceStatus
from provisioning.models import Run
from tests.utils import assert_error, assert_ok

REQUIREMENT = {"approvals": 1, "platform_admin": False, "reasons": ["prod requires 1 approval"]}


def summary(enforcement: str) -> dict[str, Any]:
    results = [
        {
            "policy": "example_replicas",
            "version": 1,
            "rule": "deny",
            "level": "failure",
            "enforcement": enforcement,
            "message": "terraform_data.config asks for 7 replicas; prod allows at most 5",
            "address": "terraform_data.config",
        },
        {
            "policy": "required_tags",
            "version": 2,
            "rule": "",
            "level": "passed",
            "enforcement": "mandatory",
            "message": "",
            "address": "",
        },
    ]
    return {
        "passed": 1,
        "warnings": 0,
        "failures": 1,
        "blocking": 1,
        "overridable": enforcement == "mandatory-overridable",
        "results": results,
        "digest": "d" * 64,
    }


@pytest.fixture
def held(make_resource, make_run, envs, teams, alice) -> Any:
    """alice's prod request whose plan fails a policy (`enforcement` chosen by the test)."""

    def make(enforcement: str = "mandatory") -> tuple[Any, Run]:
        resource = make_resource(
            teams["payments"],
            "big",
            environment=envs["prod"],
            status=ResourceStatus.POLICY_FAILED,
            requested_by=alice,
            provisioned_at=None,
        )
        plan = make_run(
            resource,
            created_by=alice,
            plan_hash="a" * 64,
            plan_summary={"add": 1, "change": 0, "destroy": 0, "resources": []},
            approval_requirement=REQUIREMENT,
            policy_summary=summary(enforcement),
            finished_at=timezone.now() - timedelta(minutes=2),
        )
        return resource, plan

    return make


@pytest.mark.django_db
def test_the_api_shows_why_a_plan_is_held(held, api_as, alice, carol):
    resource, plan = held()
    run = assert_ok(api_as(alice).get(f"/api/v1/runs/{plan.pk}/"))
    policy = run["policy"]
    assert (policy["passed"], policy["failures"], policy["blocking"]) == (1, 1, 1)
    assert policy["override"] is None
    first = policy["results"][0]
    assert (first["policy"], first["level"], first["address"]) == (
        "example_replicas",
        "failure",
        "terraform_data.config",
    )
    detail = assert_ok(api_as(alice).get(f"/api/v1/resources/{resource.pk}/"))
    assert detail["status"] == "policy_failed"
    assert detail["policy"]["blocking"] == 1
    assert "approve" not in detail["allowed_actions"]
    assert {"change", "withdraw"} <= set(detail["allowed_actions"])
    assert_error(api_as(carol).get(f"/api/v1/runs/{plan.pk}/"), 404)


@pytest.mark.django_db
def test_a_mandatory_failure_cannot_be_overridden_or_approved(held, api_as, bob, platform_admin):
    resource, plan = held("mandatory")
    assert "override_policy" not in actions.allowed_actions(resource, platform_admin)
    assert_error(
        api_as(platform_admin).post(
            f"/api/v1/resources/{resource.pk}/override-policy/", {"reason": "ship it"}
        ),
        409,
    )
    refused = assert_error(api_as(bob).post(f"/api/v1/resources/{resource.pk}/approve/", {}), 403)
    assert (
        "fails a mandatory policy (example_replicas on terraform_data.config" in (refused["detail"])
    )
    assert_error(
        api_as(platform_admin).post(
            f"/api/v1/resources/{resource.pk}/break-glass/", {"reason": "urgent"}
        ),
        403,
    )
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.POLICY_FAILED


@pytest.mark.django_db
def test_bob_cannot_approve_a_held_plan_anywhere(held, client_as, bob, make_user):
    """The portal, Django admin and `manage.py approve` refuse with the policy's reason."""
    from django.core.management import CommandError, call_command

    resource, plan = held("mandatory")
    why = "asks for 7 replicas; prod allows at most 5"

    portal = client_as(bob)
    answer = portal.post(f"/resources/{resource.pk}/approve/", {"plan_run": plan.pk}, follow=True)
    assert why in answer.content.decode()

    bob.is_staff = True
    bob.save(update_fields=["is_staff"])
    admin_page = f"/admin/provisioning/resource/{resource.pk}/"
    answer = portal.post(
        f"{admin_page}decide/",
        {"decision": "approve", "plan_run": plan.pk, "reason": ""},
        follow=True,
    )
    assert answer.status_code == 200 and why in answer.content.decode()

    with pytest.raises(CommandError, match="fails a mandatory policy"):
        call_command("approve", str(resource.pk), "--as", "bob")
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.POLICY_FAILED
    assert not resource.approvals.exists()


@pytest.mark.django_db
def test_an_overridable_failure_is_overridden_by_a_platform_admin_with_a_reason(
    held, api_as, alice, bob, carol, platform_admin
):
    resource, plan = held("mandatory-overridable")
    url = f"/api/v1/resources/{resource.pk}/override-policy/"
    assert "override_policy" in actions.allowed_actions(resource, platform_admin)
    assert "override_policy" not in actions.allowed_actions(resource, bob)
    assert_error(api_as(alice).post(url, {"reason": "mine"}), 403)
    assert_error(api_as(bob).post(url, {"reason": "trust me"}), 403)
    assert_error(api_as(carol).post(url, {"reason": "x"}), 404)
    assert_error(api_as(platform_admin).post(url, {}), 400, "reason")
    assert_error(api_as(platform_admin).post(url, {"reason": "ok", "plan_run": plan.pk + 1}), 409)

    body = assert_ok(
        api_as(platform_admin).post(url, {"reason": "capacity test", "plan_run": plan.pk})
    )
    assert body["status"] == "awaiting_approval"
    assert body["policy"]["override"]["by"] == platform_admin.get_username()
    assert body["policy"]["override"]["reason"] == "capacity test"
    event = AuditEvent.objects.get(action=ResourceEvent.POLICY_OVERRIDDEN)
    assert event.details["reason"] == "capacity test"
    # Still four eyes: the requester may not approve; bob may.
    resource.refresh_from_db()
    assert "approve" not in actions.allowed_actions(resource, alice)
    assert "approve" in actions.allowed_actions(resource, bob)


@pytest.mark.django_db
def test_the_resource_page_explains_the_hold_and_offers_the_override(
    held, client_as, alice, platform_admin
):
    resource, plan = held("mandatory-overridable")
    page = client_as(alice).get(f"/resources/{resource.pk}/").content.decode()
    assert 'id="policy-banner"' in page
    assert "terraform_data.config asks for 7 replicas; prod allows at most 5" in page
    assert "Change the parameters so the plan passes" in page
    assert 'id="policy-results"' in page and "required_tags" in page
    assert 'id="override-policy"' not in page  # alice is no platform admin

    admin = client_as(platform_admin)
    assert 'id="override-policy"' in admin.get(f"/resources/{resource.pk}/").content.decode()
    url = f"/resources/{resource.pk}/override-policy/"
    missing = admin.post(url, {"reason": "", "plan_run": plan.pk})
    assert missing.status_code == 400 and "This field is required" in missing.content.decode()
    done = admin.post(url, {"reason": "load test window", "plan_run": plan.pk})
    assert done.status_code == 302
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.AWAITING_APPROVAL
    shown = admin.get(f"/resources/{resource.pk}/").content.decode()
    assert 'id="policy-override"' in shown and "load test window" in shown
