"""The resource API's writes through HTTP: request, validation, RBAC, approvals, day-2, logs.

No worker here: the runs these requests queue stay `queued` (Terraform runs are in test_e2e).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.crypto import encrypt_json
from provisioning.models import Approval, Resource, Run
from provisioning.presenters import MASK
from tests.utils import assert_error, assert_ok

from .conftest import make_version

REQUEST = {
    "template": "example-config",
    "team": "payments",
    "environment": "prod",
    "name": "app-config",
    "parameters": {"message": "hello", "token": "t0p-s3cret"},
}


def test_request_creates_pending_resource_with_queued_plan(api_as, alice, envs, template):
    body = assert_ok(api_as(alice).post("/api/v1/resources/", REQUEST), 201)
    assert body["status"] == "pending"
    assert body["requested_by"] == "alice"
    assert body["current_run"]["kind"] == "plan" and body["current_run"]["status"] == "queued"
    # The sensitive input is stored encrypted and shown only as the mask.
    assert body["parameters"] == {"message": "hello", "token": MASK}
    resource = Resource.objects.get(pk=body["id"])
    assert "t0p-s3cret" not in resource.sensitive_parameters
    assert b"t0p-s3cret" not in api_as(alice).get(f"/api/v1/resources/{body['id']}/").content
    assert "cancel" in body["allowed_actions"]


def test_idempotency_key_returns_the_same_resource(api_as, alice, envs, template):
    api = api_as(alice)
    first = api.post("/api/v1/resources/", REQUEST, HTTP_IDEMPOTENCY_KEY="req-1")
    again = api.post("/api/v1/resources/", REQUEST, HTTP_IDEMPOTENCY_KEY="req-1")
    assert assert_ok(first, 201)["id"] == assert_ok(again, 200)["id"]
    assert Resource.objects.count() == 1 and Run.objects.count() == 1
    # Without the key, the same name is a conflict with the live resource.
    assert_error(api.post("/api/v1/resources/", REQUEST), 409, "name")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"template": "no-such-template"}, "template"),
        ({"version": 7}, "version"),
        ({"environment": "mars"}, "environment"),
        ({"environment": "qa"}, "environment"),  # not allowed by the template
        ({"team": "search"}, "team"),  # not alice's team: unknown to her
        ({"name": "Not A Slug!"}, "name"),
        ({"parameters": {"message": ""}}, "parameters.message"),
        ({"parameters": {"message": "hi", "bogus": 1}}, "parameters.bogus"),
        ({"expires_at": "2030-01-01T00:00:00Z"}, "expires_at"),  # prod has no TTL
    ],
)
def test_bad_input_is_400_with_the_field(api_as, alice, carol, envs, template, change, field):
    response = api_as(alice).post("/api/v1/resources/", {**REQUEST, **change})
    assert_error(response, 400, field)
    assert not Resource.objects.exists() and not Run.objects.exists()


def test_expiry_allowed_in_dev(api_as, alice, envs, template):
    expires = (timezone.now() + timedelta(days=2)).isoformat()
    body = api_as(alice).post(
        "/api/v1/resources/", {**REQUEST, "environment": "dev", "expires_at": expires}
    )
    assert assert_ok(body, 201)["expires_at"] is not None


def test_viewer_cannot_request(api_as, viewer, envs, template):
    assert_error(api_as(viewer).post("/api/v1/resources/", REQUEST), 403)
    assert not Resource.objects.exists()


def test_detail_masks_sensitive_outputs_and_lists_actions(
    api_as, alice, bob, teams, make_resource, make_run
):
    resource = make_resource(
        teams["payments"],
        "cfg",
        outputs={"message": "hello"},
        sensitive_output_names=["secret_token"],
        sensitive_outputs=encrypt_json({"secret_token": "token-abc"}),
        sensitive_parameters=encrypt_json({"token": "abc"}),
        estimated_monthly_cost="12.50",
        drifted=True,
        drift_details={"resources": [{"address": "terraform_data.this"}]},
    )
    make_run(resource, plan_summary={"add": 1, "change": 0, "destroy": 0, "resources": []})
    response = api_as(alice).get(f"/api/v1/resources/{resource.pk}/")
    body = assert_ok(response)
    assert body["outputs"] == {"message": "hello", "secret_token": MASK}
    assert body["parameters"] == {"message": "hello cfg", "token": MASK}
    assert b"token-abc" not in response.content and b'"abc"' not in response.content
    assert body["drifted"] is True and body["drift_details"]["resources"]
    assert body["estimated_monthly_cost"] == "12.50"
    assert body["latest_plan"]["plan_counts"] == {"add": 1, "change": 0, "destroy": 0}
    # A member may plan and change, and fix the drift; destroying needs a maintainer.
    assert set(body["allowed_actions"]) == {"plan", "change", "reconcile", "accept_drift"}
    bob_actions = assert_ok(api_as(bob).get(f"/api/v1/resources/{resource.pk}/"))["allowed_actions"]
    assert set(bob_actions) == {"plan", "change", "destroy", "reconcile", "accept_drift"}


def test_four_eyes_and_double_approval(api_as, alice, bob, awaiting):
    url = f"/api/v1/resources/{awaiting.pk}/approve/"
    # alice is a member: role too low; and it is her own request.
    assert_error(api_as(alice).post(url, {}), 403)
    detail = assert_ok(api_as(bob).get(f"/api/v1/resources/{awaiting.pk}/"))
    assert {"approve", "reject"} <= set(detail["allowed_actions"])
    assert detail["latest_plan"]["plan_counts"]["add"] == 1
    body = assert_ok(api_as(bob).post(url, {"reason": "looks right"}))
    assert body["decision"] == "approved" and body["decided_by"] == "bob"
    awaiting.refresh_from_db()
    assert awaiting.status == ResourceStatus.APPLYING
    assert Run.objects.filter(resource=awaiting, kind=RunKind.APPLY, status="queued").exists()
    assert_error(api_as(bob).post(url, {}), 409)
    assert Approval.objects.count() == 1


def test_maintainer_cannot_approve_own_request(
    api_as, bob, make_user, teams, make_resource, make_run, envs
):
    resource = make_resource(
        teams["payments"],
        "bobs",
        environment=envs["prod"],
        status=ResourceStatus.AWAITING_APPROVAL,
        requested_by=bob,
    )
    make_run(resource, created_by=bob, plan_hash="b" * 64, finished_at=timezone.now())
    assert_error(api_as(bob).post(f"/api/v1/resources/{resource.pk}/approve/", {}), 403)
    assert not Approval.objects.exists()


def test_reject_needs_a_reason(api_as, bob, awaiting):
    url = f"/api/v1/resources/{awaiting.pk}/reject/"
    assert_error(api_as(bob).post(url, {}), 400, "reason")
    assert_error(api_as(bob).post(url, {"reason": "   "}), 400, "reason")
    body = assert_ok(api_as(bob).post(url, {"reason": "too big for prod"}))
    assert body["decision"] == "rejected" and body["reason"] == "too big for prod"
    awaiting.refresh_from_db()
    assert awaiting.status == ResourceStatus.REJECTED
    assert_error(api_as(bob).post(f"/api/v1/resources/{awaiting.pk}/approve/", {}), 409)


def test_wrong_state_is_409(api_as, alice, bob, teams, make_resource):
    pending = make_resource(teams["payments"], "busy", status=ResourceStatus.PENDING)
    api = api_as(bob)
    assert_error(api.post(f"/api/v1/resources/{pending.pk}/plan/"), 409)
    assert_error(api.post(f"/api/v1/resources/{pending.pk}/retry/"), 409)
    assert_error(api.post(f"/api/v1/resources/{pending.pk}/approve/", {}), 409)
    assert_error(api.delete(f"/api/v1/resources/{pending.pk}/"), 409)
    provisioned = make_resource(teams["payments"], "ok")
    assert_error(api.post(f"/api/v1/resources/{provisioned.pk}/retry/"), 409)


def test_day2_change_plan_destroy_upgrade_retry(api_as, alice, bob, teams, template, make_resource):
    resource = make_resource(teams["payments"], "cfg")
    api = api_as(alice)
    url = f"/api/v1/resources/{resource.pk}/"
    assert_error(api.patch(url, {"parameters": {"message": ""}}), 400, "parameters.message")
    assert_error(api.patch(url, {}), 400, "parameters")
    run = assert_ok(api.patch(url, {"parameters": {"message": "changed"}}), 202)
    assert run["kind"] == "plan" and run["status"] == "queued"
    assert run["resource"] == resource.pk
    # Busy now: a second change waits for this one.
    assert_error(api.post(f"{url}plan/"), 409)
    assert assert_ok(api.post(f"/api/v1/runs/{run['id']}/cancel/"))["status"] == "cancelled"
    assert_error(api.post(f"/api/v1/runs/{run['id']}/cancel/"), 409)

    Resource.objects.filter(pk=resource.pk).update(status=ResourceStatus.PROVISIONED)
    assert assert_ok(api.post(f"{url}plan/"), 202)["kind"] == "plan"
    Run.objects.filter(resource=resource).update(status=RunStatus.SUCCEEDED)
    Resource.objects.filter(pk=resource.pk).update(status=ResourceStatus.PROVISIONED)

    assert_error(api.delete(url), 403)  # a member may not destroy
    destroy = assert_ok(api_as(bob).delete(url), 202)
    assert destroy["is_destroy"] is True
    Run.objects.filter(resource=resource).update(status=RunStatus.FAILED)
    Resource.objects.filter(pk=resource.pk).update(status=ResourceStatus.FAILED)
    assert assert_ok(api.post(f"{url}retry/"), 202)["is_destroy"] is True
    Run.objects.filter(resource=resource).update(status=RunStatus.SUCCEEDED)
    Resource.objects.filter(pk=resource.pk).update(status=ResourceStatus.PROVISIONED)

    assert_error(api.post(f"{url}upgrade/", {"version": 9}), 400, "version")
    assert_error(api.post(f"{url}upgrade/", {}), 409)  # already on the current version
    make_version(template, 2, extra="\n# v2\n")
    assert "upgrade" in assert_ok(api.get(url))["allowed_actions"]
    upgraded = assert_ok(api.post(f"{url}upgrade/", {}), 202)
    assert upgraded["template_version"] == 2


def test_run_log_pages_by_offset(api_as, alice, teams, make_resource, make_run):
    resource = make_resource(teams["payments"], "cfg")
    run = make_run(resource, status=RunStatus.RUNNING, log=["line one\n", "line two\n", "three\n"])
    api = api_as(alice)
    url = f"/api/v1/runs/{run.pk}/log/"
    first = assert_ok(api.get(f"{url}?offset=0&limit=5"))
    assert first == {"text": "line ", "next_offset": 5, "complete": False}
    rest = assert_ok(api.get(f"{url}?offset={first['next_offset']}"))
    assert first["text"] + rest["text"] == "line one\nline two\nthree\n"
    assert rest["complete"] is False  # still running: more may come
    Run.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED)
    end = assert_ok(api.get(f"{url}?offset={rest['next_offset']}"))
    assert end == {"text": "", "next_offset": rest["next_offset"], "complete": True}
    assert_error(api.get(f"{url}?offset=-1"), 400, "offset")
    assert_error(api.get(f"{url}?offset=abc"), 400, "offset")


def test_viewer_sees_but_cannot_act(api_as, viewer, teams, make_resource, awaiting):
    resource = make_resource(teams["payments"], "cfg")
    api = api_as(viewer)
    assert assert_ok(api.get(f"/api/v1/resources/{resource.pk}/"))["allowed_actions"] == []
    assert_error(api.post(f"/api/v1/resources/{resource.pk}/plan/"), 403)
    assert_error(
        api.patch(f"/api/v1/resources/{resource.pk}/", {"parameters": {"message": "x"}}), 403
    )
    assert_error(api.post(f"/api/v1/resources/{awaiting.pk}/approve/", {}), 403)
    assert not Run.objects.filter(resource=resource).exists()
