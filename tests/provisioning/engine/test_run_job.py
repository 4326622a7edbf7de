"""Runs are a job kind of the job framework (idp/jobs, `provisioning.run`): their messages go
to IDP_RUN_QUEUE, their timeout and grace are the runs' settings, the framework's heartbeat
beats a running run, and the one housekeeping task takes a lost run back through the
workflow (never run again blindly)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from idp.jobs import registry
from idp.jobs.dispatch import Heartbeat
from idp.jobs.sweep import housekeeping
from provisioning import actions, dispatch
from provisioning.choices import ResourceStatus, RunStatus
from provisioning.engine.claim import RUN_JOB, WORKER_LOST
from provisioning.models import Resource, ResourceLock, Run
from provisioning.tasks import execute_run

from .conftest import request_module
from .test_runs import wait_for


def test_runs_are_a_registered_job_kind_that_reads_its_settings(settings: Any) -> None:
    assert registry.get("provisioning.run") is RUN_JOB is dispatch.kind()
    assert RUN_JOB.model is Run and RUN_JOB.claim is not None and RUN_JOB.reap is not None
    settings.IDP_RUN_HEARTBEAT_TIMEOUT = 7
    settings.IDP_SWEEP_GRACE_SECONDS = 11
    assert RUN_JOB.heartbeat_timeout() == 7 and RUN_JOB.sweep_grace() == 11
    before = timezone.now()
    assert before - timedelta(seconds=8) < dispatch.stale_before() <= timezone.now()


@pytest.mark.django_db
def test_a_run_message_goes_to_the_run_queue(
    alice: Any, teams: Any, envs: Any, echo: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(execute_run, "apply_async", lambda args, **kw: sent.append((args, kw)))
    resource = request_module(alice, teams["payments"])
    run = resource.runs.get()
    settings.IDP_RUN_QUEUE = "terraform-runs"
    dispatch.send(run.pk)
    settings.IDP_RUN_QUEUE = ""
    dispatch.send(run.pk)
    assert sent == [((run.pk,), {"queue": "terraform-runs"}), ((run.pk,), {})]


@pytest.mark.django_db
def test_housekeeping_takes_a_lost_run_back_through_the_workflow(
    alice: Any, teams: Any, envs: Any, echo: Any, state: str
) -> None:
    resource = request_module(alice, teams["payments"], name="lost-plan")
    run = resource.runs.get()
    Run.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING,
        heartbeat_at=timezone.now() - timedelta(hours=1),
        started_at=timezone.now() - timedelta(hours=1),
        worker="gone:1",
    )
    ResourceLock.objects.create(resource=resource, run=run)
    Resource.objects.filter(pk=resource.pk).update(status=ResourceStatus.PLANNING)

    report = housekeeping()
    assert report["provisioning.run"] == {"reaped": 1, "resent": 0}
    run.refresh_from_db()
    resource.refresh_from_db()
    # A lost plan changed nothing: failed, retryable (the workflow's decision), not requeued.
    assert run.status == RunStatus.FAILED and run.error == WORKER_LOST
    assert resource.status == ResourceStatus.FAILED
    assert not ResourceLock.objects.exists()
    assert "retry" in actions.allowed_actions(resource, alice)
    assert housekeeping()["provisioning.run"] == {"reaped": 0, "resent": 0}


def test_the_framework_heartbeat_beats_a_running_run(
    transactional_db: None, alice: Any, teams: Any, envs: Any, echo: Any, settings: Any
) -> None:
    settings.IDP_RUN_HEARTBEAT_TIMEOUT = 1  # a beat every 0.25 s
    resource = request_module(alice, teams["payments"], name="beating")
    run = resource.runs.get()
    long_ago = timezone.now() - timedelta(hours=1)
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, heartbeat_at=long_ago)
    run.refresh_from_db()
    with Heartbeat(RUN_JOB, run):
        wait_for(lambda: Run.objects.get(pk=run.pk).heartbeat_at > long_ago, "a beat", timeout=10)
    # An ended run is not beaten for: the beat stops with its status.
    Run.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED, heartbeat_at=None)
    with Heartbeat(RUN_JOB, run):
        time.sleep(0.6)
    assert Run.objects.get(pk=run.pk).heartbeat_at is None
