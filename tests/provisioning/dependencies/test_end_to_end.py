"""A dependant resource takes its upstream's output, end to end: real Terraform on the
provider-free fixture modules, the real S3 state backend on the local AWS API, a real
Celery worker. The dependant's plan waits for the upstream's apply, reads its output,
is planned again when that output changes, and keeps the upstream from being destroyed."""

from __future__ import annotations

import time
from typing import Any

import pytest

from idp.models import AuditEvent
from idp.services import Conflict
from provisioning import actions
from provisioning.actions import dependencies
from provisioning.choices import ResourceStatus, RunKind
from provisioning.models import Resource, ResourceDependency
from tests.provisioning.engine.conftest import settle
from tests.utils import assert_error

from .conftest import ask

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def wait_until(check: Any, what: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


@pytest.mark.usefixtures("celery_worker", "state")
def test_a_vpc_style_output_reaches_its_dependant(alice, bob, teams, envs, app, api_as) -> None:
    # Both asked for at once: the dependant's plan must wait for the upstream's apply.
    net = ask(alice, "net-fixture", "main-net", {"prefix": "one"})
    web = ask(alice, "app-fixture", "web", {"subnet_ids": {"resource": "main-net"}})

    web = settle(web, ResourceStatus.PROVISIONED)
    net.refresh_from_db()
    assert net.status == ResourceStatus.PROVISIONED
    assert web.outputs["subnets"] == ["subnet-one-a", "subnet-one-b"]
    # Ordered: the dependant's first plan started only after the upstream's apply ended.
    net_apply = net.runs.get(kind=RunKind.APPLY)
    web_plan = web.runs.filter(kind=RunKind.PLAN).order_by("pk").first()
    assert web_plan is not None and web_plan.started_at >= net_apply.finished_at
    # The reference is kept (not the value), with the digest of the value it was planned with.
    assert web.parameters["subnet_ids"] == {
        "resource": net.pk,
        "name": "main-net",
        "output": "subnet_ids",
    }
    row = ResourceDependency.objects.get(dependant=web)
    assert row.value_digest == dependencies.digest(["subnet-one-a", "subnet-one-b"])

    # The upstream may not go while the dependant uses it: the one destroy rule says so,
    # the API answers 409 naming the dependant.
    with pytest.raises(Conflict) as refused:
        actions.request_destroy(net, actor=bob)
    assert "web (dev)" in refused.value.message
    body = assert_error(api_as(bob).delete(f"/api/v1/resources/{net.pk}/"), 409)
    assert "web (dev)" in str(body["detail"])
    assert "destroy" not in actions.allowed_actions(net, bob)

    # The upstream's output changes: the dependant is planned again by the system (its
    # approval rules apply: none in dev) and applied with the new value.
    actions.change_parameters(net, {"prefix": "two"}, actor=alice)
    settle(net, ResourceStatus.PROVISIONED)
    assert net.outputs["subnet_ids"] == ["subnet-two-a", "subnet-two-b"]

    def replanned() -> Resource | None:
        web.refresh_from_db()
        if web.outputs.get("subnets") == ["subnet-two-a", "subnet-two-b"]:
            return web if web.status == ResourceStatus.PROVISIONED else None
        settle(web, *ResourceStatus.values)  # run what is queued here too
        return None

    wait_until(replanned, "the dependant to be re-planned with the new subnets")
    event = AuditEvent.objects.filter(
        action="resource.replanned", target_id=str(web.pk), actor__isnull=True
    ).first()
    assert event is not None
    assert event.details["reason"] == "upstream output changed"
    assert event.details["parameters"] == ["subnet_ids"]
    assert "main-net" in event.details["because"]
    assert event.details["upstream_run"] == net.runs.filter(kind=RunKind.APPLY).latest("pk").pk
    row.refresh_from_db()
    assert row.value_digest == dependencies.digest(["subnet-two-a", "subnet-two-b"])

    # Dependants go first; then the upstream may be destroyed.
    actions.request_destroy(web, actor=bob)
    settle(web, ResourceStatus.DESTROYED)
    assert dependencies.live_dependants(net) == []
    actions.request_destroy(net, actor=bob)
    settle(net, ResourceStatus.DESTROYED)


@pytest.mark.usefixtures("celery_worker", "state")
def test_a_plan_whose_upstream_was_rejected_fails_readably(alice, teams, envs, app) -> None:
    net = ask(alice, "net-fixture", "gone-net", {"prefix": "x"}, environment="prod")
    web = ask(alice, "app-fixture", "web", {"subnet_ids": {"resource": net.pk}}, environment="prod")
    settle(net, ResourceStatus.AWAITING_APPROVAL)  # prod needs an approval
    web.refresh_from_db()
    assert web.status == ResourceStatus.PENDING  # its plan waits, queued
    actions.withdraw(net, actor=alice)

    def failed() -> Resource | None:
        web.refresh_from_db()
        return web if web.status == ResourceStatus.FAILED else None

    wait_until(failed, "the waiting plan to run and fail")
    assert "gone-net, which is rejected" in web.last_error
