"""A worker killed mid-apply: the reaper fails the run ("worker lost"), a retry succeeds.
Also the sweeper, which re-sends runs whose message never reached a worker."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import boto3
import psutil
import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from idp.jobs.sweep import reap_lost, sweep_queued
from provisioning import actions
from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.engine.backend import state_key
from provisioning.engine.claim import RUN_JOB, WORKER_LOST
from provisioning.models import Resource, ResourceLock, Run
from tests.utils import need

from .conftest import log_of, register_module, request_module, run_queued
from .test_runs import wait_for


def database_url() -> str:
    cfg = connection.settings_dict
    auth = cfg["USER"] + (f":{cfg['PASSWORD']}" if cfg.get("PASSWORD") else "")
    return f"postgres://{auth}@{cfg['HOST'] or '127.0.0.1'}:{cfg['PORT'] or 5432}/{cfg['NAME']}"


def start_worker(queue: str, moto: str, tmp: Path) -> subprocess.Popen[bytes]:
    """A real `celery -A config worker` process on the test database, consuming only `queue`."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": os.environ["CELERY_BROKER_URL"],
        "AWS_ENDPOINT_URL": moto,
        "IDP_WORK_DIR": str(tmp / "worker-runs"),
        "TF_PLUGIN_CACHE_DIR": str(django_settings.IDP_PLUGIN_CACHE_DIR),
        "IDP_RUN_QUEUE": queue,
    }
    cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "-Q",
        queue,
        "-c",
        "1",
        "--pool",
        "prefork",
        "--without-gossip",
        "--without-mingle",
        "-l",
        "warning",
    ]
    return subprocess.Popen(
        cmd,
        cwd=django_settings.BASE_DIR,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp / "worker.log", "wb"),  # noqa: SIM115
    )


def wait_for_sleeping_apply(resource: Resource, delay: int, worker_log: Path) -> Run:
    """The resource's apply once the worker is inside its `sleep` (Terraform mid-apply)."""

    def sleeping_apply() -> Run | None:
        run = resource.runs.filter(kind=RunKind.APPLY, status=RunStatus.RUNNING).first()
        return run if run and f"sleep {delay}" in log_of(run) else None

    try:
        return wait_for(sleeping_apply, "the worker to start the apply", timeout=120)
    except pytest.fail.Exception:
        runs = list(resource.runs.values("kind", "status", "error"))
        pytest.fail(f"{runs}\n{worker_log.read_text()[-3000:]}")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_apply_then_retry(alice, teams, envs, state, settings, tmp_path):
    need(connection.vendor == "postgresql", "a worker process needs a shared database")
    need(os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"), "needs Redis")
    register_module("tf_slow")
    settings.IDP_RUN_QUEUE = f"kill-test-{uuid.uuid4().hex[:8]}"
    worker = start_worker(settings.IDP_RUN_QUEUE, state, tmp_path)
    try:
        resource = request_module(
            alice,
            teams["payments"],
            template="tf-slow",
            name="victim",
            parameters={"delay": 6, "label": "kept"},
        )
        apply = wait_for_sleeping_apply(resource, 6, tmp_path / "worker.log")
        assert apply.worker and str(worker.pid) not in ("", None)
    finally:
        # The worker, its pool child and the Terraform it started (in a group of its own) die
        # together, no goodbye: a lost node. Nothing reaches the state, so the reaper finds
        # it unchanged (a Terraform left running would make the outcome unknown).
        tree = psutil.Process(worker.pid).children(recursive=True)
        os.killpg(worker.pid, signal.SIGKILL)
        for proc in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        worker.wait(timeout=30)

    settings.IDP_RUN_HEARTBEAT_TIMEOUT = 2
    wait_for(lambda: reap_lost(RUN_JOB) == 1, "the reaper to notice the lost worker", timeout=60)
    apply.refresh_from_db()
    resource.refresh_from_db()
    assert apply.status == RunStatus.FAILED and apply.error == WORKER_LOST
    assert resource.status == ResourceStatus.FAILED and WORKER_LOST in resource.last_error
    assert not ResourceLock.objects.filter(resource=resource).exists()
    assert "retry" in actions.allowed_actions(resource, alice)

    settings.IDP_RUN_QUEUE = f"nobody-{uuid.uuid4().hex[:8]}"  # this process runs the retry
    actions.retry(resource, actor=alice)
    plan, retried = run_queued(resource)
    assert retried.status == RunStatus.SUCCEEDED, retried.error
    assert resource.status == ResourceStatus.PROVISIONED and resource.outputs["label"] == "kept"
    s3 = boto3.client("s3", endpoint_url=state, region_name="eu-west-1")
    doc = json.loads(
        s3.get_object(Bucket="idp-terraform-state", Key=state_key(resource))["Body"].read()
    )
    (instance,) = doc["resources"][0]["instances"]
    assert (
        instance.get("status") != "tainted" and instance["attributes"]["output"]["value"] == "kept"
    )


@pytest.mark.django_db
def test_reaper_frees_the_lock_and_wakes_the_next_run(alice, teams, envs, echo, state):
    resource = actions.request_resource(
        actor=alice,
        template="tf-echo",
        version=None,
        team=teams["payments"],
        environment="dev",
        name="lost",
        parameters={"message": "x"},
    ).resource
    run = resource.runs.get()
    Run.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING,
        heartbeat_at=timezone.now() - timedelta(hours=1),
        started_at=timezone.now() - timedelta(hours=1),
        worker="gone:1",
    )
    ResourceLock.objects.create(resource=resource, run=run)
    Resource.objects.filter(pk=resource.pk).update(status=ResourceStatus.PLANNING)
    fresh = Run.objects.create(
        resource=resource,
        kind=RunKind.DRIFT,
        status=RunStatus.RUNNING,
        template_version=run.template_version,
        heartbeat_at=timezone.now(),
    )
    assert reap_lost(RUN_JOB) == 1
    run.refresh_from_db()
    fresh.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.error == WORKER_LOST
    assert fresh.status == RunStatus.RUNNING  # its heartbeat is fresh
    assert not ResourceLock.objects.exists()
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.FAILED


@pytest.mark.usefixtures("celery_worker")
def test_sweeper_sends_runs_whose_message_was_lost(alice, teams, envs, echo, state) -> None:

    resource = Resource.objects.create(
        team=teams["payments"],
        template=echo.template,
        template_version=echo,
        environment=envs["dev"],
        name="orphan",
        parameters={"message": "swept"},
        requested_by=alice,
    )
    # The run row exists but no message was ever sent (the broker was down).
    Run.objects.create(
        resource=resource, kind=RunKind.PLAN, template_version=echo, parameters=resource.parameters
    )
    assert sweep_queued(RUN_JOB, grace=3600) == 0  # too young to be stuck
    assert sweep_queued(RUN_JOB, grace=0) == 1
    wait_for(
        lambda: Resource.objects.get(pk=resource.pk).status == ResourceStatus.PROVISIONED,
        "the swept run and its apply",
    )
    assert Resource.objects.get(pk=resource.pk).outputs["echo"] == "swept"
