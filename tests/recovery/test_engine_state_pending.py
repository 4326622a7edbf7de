"""The state backend goes away during an apply: Terraform applies but cannot store the state
(errored.tfstate). The state is kept, encrypted, with the run; the resource waits in
`state_pending`; `manage.py push_state` fails plainly while the backend is down; once it
answers, the beat schedule pushes the state, the resource is provisioned, and the next plan
finds nothing to change."""

from __future__ import annotations

import json

import boto3
import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from provisioning import actions
from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.crypto import decrypt_bytes
from provisioning.engine.backend import state_bucket, state_key
from provisioning.models import Resource, ResourceLock, Run

from .engine_procs import Stack, log_of, wait_for

# The recovery database, broker, moto server and processes (the `stack` fixture).
pytest_plugins = ["tests.recovery.engine_procs"]

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(300)]


def sleeping_apply(resource: Resource, delay: int) -> Run | None:
    run = resource.runs.filter(kind=RunKind.APPLY, status=RunStatus.RUNNING).first()
    return run if run and f"sleep {delay}" in log_of(run) else None


def test_state_kept_when_the_backend_is_down_then_pushed(stack: Stack) -> None:
    team, user = stack.member()
    stack.settings.IDP_STATE_PUSH_RETRY_SECONDS = 1  # a failed manual push waits as little
    worker = stack.start_worker(IDP_STATE_PUSH_RETRY_SECONDS="1")
    resource = stack.request(user, team, "tf_slow", {"delay": 8, "label": "kept"})
    apply = wait_for(lambda: sleeping_apply(resource, 8), "the apply to sleep", timeout=120)

    stack.moto.stop()  # the state backend is gone before Terraform stores the state
    try:
        wait_for(
            lambda: Run.objects.get(pk=apply.pk).status != RunStatus.RUNNING,
            "the apply to end without its backend",
            timeout=150,
        )
        apply.refresh_from_db()
        resource.refresh_from_db()
        assert resource.status == ResourceStatus.STATE_PENDING, worker.log()[-3000:]
        assert apply.status == RunStatus.FAILED and "push_state" in apply.error, apply.error
        assert "state is kept" in log_of(apply)
        state = json.loads(decrypt_bytes(apply.pending_state) or b"{}")
        (instance,) = state["resources"][0]["instances"]
        assert instance["attributes"]["output"]["value"] == "kept"
        assert state["outputs"]["label"]["value"] == "kept"
        # Nothing else may start meanwhile, and nothing of the run is left on disk.
        assert "retry" not in actions.allowed_actions(resource, user)
        assert not ResourceLock.objects.filter(resource=resource).exists()
        wait_for(lambda: not list(stack.work_dir.glob("run-*")), "the run's directory to go")
        assert not list(stack.work_dir.rglob("errored.tfstate"))

        # The manual push fails plainly (non-zero exit) while the backend is down.
        with pytest.raises(CommandError, match="not pushed"):
            call_command("push_state", str(apply.pk))
        resource.refresh_from_db()
        assert resource.status == ResourceStatus.STATE_PENDING
    finally:
        stack.moto.start()  # the backend answers again

    stack.start_beat(IDP_BEAT_SCALE="0.02")  # push_pending_states every 1.2 s
    wait_for(
        lambda: Resource.objects.get(pk=resource.pk).status == ResourceStatus.PROVISIONED,
        "the schedule to push the kept state",
        timeout=120,
    )
    resource.refresh_from_db()
    apply.refresh_from_db()
    assert resource.outputs["label"] == "kept" and not resource.last_error
    assert apply.pending_state is None and apply.pending_state_retry_at is None
    s3 = boto3.client("s3", endpoint_url=stack.moto.url, region_name="eu-west-1")
    stored = json.loads(
        s3.get_object(Bucket=state_bucket(), Key=state_key(resource))["Body"].read()
    )
    assert stored["lineage"] == state["lineage"] and stored["serial"] == state["serial"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=state_bucket()).get("Contents", [])]
    assert state_key(resource) + ".tflock" not in keys  # the apply's lock was released

    with transaction.atomic():
        plan = actions.replan(resource, actor=user).run
    wait_for(
        lambda: Run.objects.get(pk=plan.pk).status == RunStatus.SUCCEEDED,
        "the plan after the push",
        timeout=120,
    )
    plan.refresh_from_db()
    resource.refresh_from_db()
    assert plan.plan_summary["has_changes"] is False, plan.plan_text
    assert resource.status == ResourceStatus.PROVISIONED
    assert not resource.runs.filter(kind=RunKind.APPLY, pk__gt=plan.pk).exists()
