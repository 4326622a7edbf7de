"""A worker process killed mid-apply (SIGKILL, no goodbye) leaves its run `running` with the
lock held. With beat running, the reaper ends it as "worker lost" within the heartbeat
timeout plus one reaper interval and frees the lock; the redelivered message does not
apply again, and a retry provisions the resource."""

from __future__ import annotations

import contextlib
import os
import signal
import time

import psutil
import pytest
from django.db import transaction

from provisioning import actions
from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.engine.claim import WORKER_LOST
from provisioning.models import Resource, ResourceLock, Run

from .engine_procs import Stack, log_of, wait_for

# The recovery database, broker, moto server and processes (the `stack` fixture).
pytest_plugins = ["tests.recovery.engine_procs"]

# serial: it asserts how soon the reaper notices, which a busy neighbour would stretch.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.integration,
    pytest.mark.serial,
    pytest.mark.timeout(300),
]

HEARTBEAT_TIMEOUT = 4


def test_killed_worker_is_reaped_in_bounded_time_and_retry_applies(stack: Stack) -> None:
    team, user = stack.member()
    # The reaper runs in a worker: the heartbeat timeout is the worker's setting.
    worker = stack.start_worker(IDP_RUN_HEARTBEAT_TIMEOUT=HEARTBEAT_TIMEOUT)
    stack.start_beat(IDP_BEAT_SCALE="0.02")  # idp.jobs_housekeeping (reaps runs) every 0.2 s
    resource = stack.request(user, team, "tf_slow", {"delay": 12, "label": "after"})

    def sleeping_apply() -> Run | None:
        run = resource.runs.filter(kind=RunKind.APPLY, status=RunStatus.RUNNING).first()
        return run if run and "sleep 12" in log_of(run) else None

    apply = wait_for(sleeping_apply, "the apply to sleep", timeout=120)
    child = int(apply.worker.split(":")[1])
    assert child in worker.pool_children()
    # The worker dies with its Terraform (a lost node): nothing reaches the state, so the
    # reaper finds it unchanged (a Terraform left running would be found "outcome unknown").
    terraform = psutil.Process(child).children(recursive=True)
    os.kill(child, signal.SIGKILL)
    for proc in terraform:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    killed_at = time.monotonic()
    assert ResourceLock.objects.filter(resource=resource, run=apply).exists()

    wait_for(
        lambda: Run.objects.get(pk=apply.pk).status != RunStatus.RUNNING,
        "the reaper",
        timeout=HEARTBEAT_TIMEOUT + 30,
        every=0.1,
    )
    reaped_after = time.monotonic() - killed_at
    apply.refresh_from_db()
    resource.refresh_from_db()
    assert apply.status == RunStatus.FAILED and apply.error == WORKER_LOST, apply.error
    assert reaped_after < HEARTBEAT_TIMEOUT + 1.2 + 5, reaped_after
    assert resource.status == ResourceStatus.FAILED
    assert not ResourceLock.objects.filter(resource=resource).exists()
    # The message came back to the restarted pool child, which did not apply again.
    worker.wait_log(r"execute_run\[[\w-]+\] succeeded in [\d.]+s: 'skipped'", "the redelivery")
    assert log_of(apply).count("$ terraform apply") == 1

    with transaction.atomic():
        actions.retry(resource, actor=user)
    wait_for(
        lambda: Resource.objects.get(pk=resource.pk).status == ResourceStatus.PROVISIONED,
        "the retry to provision the resource",
        timeout=150,
    )
    resource.refresh_from_db()
    assert resource.outputs["label"] == "after"
    applies = list(resource.runs.filter(kind=RunKind.APPLY).values_list("status", flat=True))
    assert sorted(applies) == [RunStatus.FAILED, RunStatus.SUCCEEDED], applies
