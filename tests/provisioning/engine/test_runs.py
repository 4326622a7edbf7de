"""Runs on a real Celery worker: failures and retry, cancel, one lock per resource."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from idp import services as idp_services
from provisioning import actions, dispatch
from provisioning.actions.results import PlanPurpose
from provisioning.choices import RUN_ACTIVE, ResourceStatus, RunKind, RunStatus
from provisioning.engine.backend import ensure_state_bucket
from provisioning.engine.dbretry import retry_locked
from provisioning.models import Resource, ResourceLock, Run
from tests.helpers import wait_for

from .conftest import log_of, register_module, request_module


def settled(resource: Resource) -> bool:
    return not resource.runs.filter(status__in=RUN_ACTIVE).exists()


@pytest.mark.django_db
def test_failed_apply_then_retry_after_the_cause_is_fixed(alice, teams, envs, state, drive):
    register_module("tf_fail")
    resource = actions.request_resource(
        actor=alice,
        template="tf-fail",
        version=None,
        team=teams["payments"],
        environment="dev",
        name="broken",
        parameters={},
    ).resource
    plan, apply = drive(resource)
    assert plan.status == RunStatus.SUCCEEDED
    assert apply.status == RunStatus.FAILED
    assert "this module always fails" in apply.error or "exit status 3" in apply.error
    assert "Error:" in log_of(apply)
    assert resource.status == ResourceStatus.FAILED and resource.last_error
    assert actions.allowed_actions(resource, alice) >= {"retry", "plan"}


@pytest.mark.django_db
def test_retry_of_a_failed_run(alice, teams, envs, echo, state, settings, drive):
    settings.IDP_STATE_BUCKET = "bucket-made-later"  # the state backend is missing at first
    resource = request_module(alice, teams["payments"], name="later", message="again")
    (plan,) = drive(resource)
    assert plan.status == RunStatus.FAILED and "init failed" in plan.error
    assert resource.status == ResourceStatus.FAILED
    assert not ResourceLock.objects.exists()
    ensure_state_bucket()

    started = actions.retry(resource, actor=alice)
    run = started.run
    assert run.kind == RunKind.PLAN and run.status == RunStatus.QUEUED
    assert started.purpose == PlanPurpose.RETRY and started.status == ResourceStatus.PLANNING
    assert started.message == f"{resource.name} is planned again after its failed run."
    plan, apply = drive(resource)
    assert apply.status == RunStatus.SUCCEEDED, apply.error
    assert resource.status == ResourceStatus.PROVISIONED
    assert resource.outputs["echo"] == "again"
    with pytest.raises(idp_services.Conflict):
        actions.retry(resource, actor=alice)  # nothing failed any more


def slow_request(actor: Any, team: Any, name: str, delay: float, label: str = "slow") -> Any:
    return actions.request_resource(
        actor=actor,
        template="tf-slow",
        version=None,
        team=team,
        environment="dev",
        name=name,
        parameters={"delay": delay, "label": label},
    ).resource


@pytest.mark.usefixtures("celery_worker")
def test_cancel_a_running_apply(alice, teams, envs, state):
    register_module("tf_slow")
    resource = slow_request(alice, teams["payments"], "long", 60)

    def sleeping_apply() -> Run | None:
        run = resource.runs.filter(kind=RunKind.APPLY, status=RunStatus.RUNNING).first()
        return run if run and "sleep 60" in log_of(run) else None

    apply = wait_for(sleeping_apply, "the apply to start sleeping")
    retry_locked(actions.cancel_run)(apply, actor=alice)
    wait_for(lambda: Run.objects.get(pk=apply.pk).status != RunStatus.RUNNING, "the cancel")

    apply.refresh_from_db()
    resource.refresh_from_db()
    assert apply.status == RunStatus.CANCELLED and apply.finished_at
    assert "Interrupt received" in log_of(apply) or "interrupt" in log_of(apply).lower()
    assert resource.status == ResourceStatus.FAILED
    assert not ResourceLock.objects.filter(resource=resource).exists()
    # Terraform stopped cleanly: its S3 lock file is gone, so the next run can start.
    s3 = boto3.client("s3", endpoint_url=state, region_name="eu-west-1")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="idp-terraform-state").get("Contents", [])]
    assert not [k for k in keys if k.endswith(".tflock")]


@pytest.mark.usefixtures("celery_worker")
@pytest.mark.slow
def test_runs_on_one_resource_serialize_while_resources_run_in_parallel(alice, teams, envs, state):
    register_module("tf_slow")
    from django.db import transaction

    with transaction.atomic():
        first = slow_request(alice, teams["payments"], "one", 2, "a")
        # A second plan queued on the same resource at once (as two quick clicks would).
        dispatch.new_run(first, RunKind.PLAN, actor=alice, parameters={"delay": 2, "label": "b"})
        # Longer, so it still overlaps the first resource's runs when runs start fast.
        second = slow_request(alice, teams["payments"], "two", 5, "c")

    for resource in (first, second):
        wait_for(lambda r=resource: settled(r), f"runs of {resource.name}", timeout=120)
        resource.refresh_from_db()
        assert resource.status == ResourceStatus.PROVISIONED, resource.last_error

    def intervals(resource: Resource) -> list[tuple[Any, Any]]:
        return sorted(
            (r.started_at, r.finished_at)
            for r in resource.runs.exclude(started_at=None).order_by("pk")
        )

    one, two = intervals(first), intervals(second)
    assert len(one) >= 3  # two plans and at least one apply
    for (_, end), (start, _) in zip(one, one[1:], strict=False):
        assert end <= start, f"runs on one resource overlapped: {one}"
    overlapping = [(a, b) for a in one for b in two if a[0] < b[1] and b[0] < a[1]]
    assert overlapping, f"runs on different resources never ran together: {one} {two}"
    # The later plan won: the first plan's apply was skipped as superseded.
    first.refresh_from_db()
    assert first.outputs["label"] == "b"
