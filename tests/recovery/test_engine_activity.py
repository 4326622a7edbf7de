"""The status says what the lifecycle says (`applying`), and the activity says whether that
apply waits for a worker (`queued`) or Terraform works on it (`running`): in the API's list
and detail, and on the portal's resource page, at no query per row."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from idp.models import Environment
from provisioning import actions, lifecycle
from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.models import Resource, Run
from tests.utils import assert_ok

from .engine_procs import register_module

pytestmark = pytest.mark.django_db


@pytest.fixture
def requested(alice: Any, teams: dict[str, Any]) -> Any:
    def make(name: str) -> Resource:
        Environment.objects.get_or_create(slug="dev", defaults={"name": "Dev", "order": 1})
        if not Resource.objects.exists():
            register_module("tf_echo")
        return actions.request_resource(
            actor=alice,
            template="tf-echo",
            version=None,
            team=teams["payments"],
            environment="dev",
            name=name,
            parameters={"message": "hi"},
        ).resource

    return make


def row_of(api: Any, resource: Resource) -> dict[str, Any]:
    body = assert_ok(api.get("/api/v1/resources/?page_size=500"))
    return next(r for r in body["results"] if r["id"] == resource.pk)


def test_activity_tells_queued_from_running(api_as, client_as, alice, requested) -> None:
    resource = requested("watched")
    api = api_as(alice)
    (plan,) = resource.runs.all()
    assert resource.status == ResourceStatus.PENDING
    assert row_of(api, resource)["activity"] == "queued"
    assert assert_ok(api.get(f"/api/v1/resources/{resource.pk}/"))["activity"] == "queued"

    # The plan runs, then queues its apply: `applying` while the apply only waits.
    assert lifecycle.start_run(plan, worker="w:1:main")
    assert row_of(api, resource)["activity"] == "running"
    Resource.objects.filter(pk=resource.pk).update(status=ResourceStatus.APPLYING)
    lifecycle.end_run(plan, RunStatus.SUCCEEDED)
    apply = Run.objects.create(
        resource=resource,
        kind=RunKind.APPLY,
        status=lifecycle.first_run_status(),
        template_version=plan.template_version,
        plan_run=plan,
    )
    detail = assert_ok(api.get(f"/api/v1/resources/{resource.pk}/"))
    assert (detail["status"], detail["activity"]) == ("applying", "queued")
    page = client_as(alice).get(reverse("provisioning:resource_detail", args=[resource.pk]))
    assert "Applying — queued" in page.content.decode()

    assert lifecycle.start_run(apply, worker="w:1:main")
    assert row_of(api, resource)["activity"] == "running"
    page = client_as(alice).get(reverse("provisioning:resource_detail", args=[resource.pk]))
    assert "Applying — running" in page.content.decode()

    # A drift check does not make a provisioned resource look busy.
    lifecycle.end_run(apply, RunStatus.SUCCEEDED)
    Resource.objects.filter(pk=resource.pk).update(status=ResourceStatus.PROVISIONED)
    Run.objects.create(
        resource=resource,
        kind=RunKind.DRIFT,
        status=lifecycle.first_run_status(),
        template_version=plan.template_version,
    )
    assert row_of(api, resource)["activity"] is None


def test_activity_costs_no_query_per_row(api_as, platform_admin, requested) -> None:
    api = api_as(platform_admin)
    for i in range(3):
        requested(f"few-{i}")
    api.get("/api/v1/resources/")  # warm the token's last-used touch
    with CaptureQueriesContext(connection) as few:
        assert_ok(api.get("/api/v1/resources/?page_size=500"))
    for i in range(30):
        requested(f"many-{i}")
    with CaptureQueriesContext(connection) as many:
        body = assert_ok(api.get("/api/v1/resources/?page_size=500"))
    assert {r["activity"] for r in body["results"]} == {"queued"}
    assert len(many) == len(few), "\n".join(q["sql"] for q in many.captured_queries)
