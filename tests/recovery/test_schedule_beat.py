"""The beat schedule as shipped: every entry is sent the way beat sends it and a real
prefork worker runs it without error; a real `celery beat` sends the entries on time; and
the schedule alone destroys a resource whose expiry passed (beat → expire_resources →
destroy plan → destroy apply, each in a worker process)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from config.celery import app
from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.models import Resource

from .engine_procs import Stack, wait_for

# The recovery database, broker, moto server and processes (the `stack` fixture).
pytest_plugins = ["tests.recovery.engine_procs"]

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(300)]


def test_every_task_sets_limits_celery_accepts() -> None:
    """A task's own hard limit with the global soft limit above it is refused by Celery when
    sent: each task's soft limit stays below its hard limit."""
    app.loader.import_default_modules()
    conf = app.conf
    checked = 0
    for name, task in app.tasks.items():
        if name.startswith("celery."):
            continue
        hard = task.time_limit or conf.task_time_limit
        soft = task.soft_time_limit or conf.task_soft_time_limit
        assert not (hard and soft and soft > hard), f"{name}: soft {soft} > hard {hard}"
        checked += 1
    assert checked >= len(settings.CELERY_BEAT_SCHEDULE)


def test_every_beat_entry_runs_on_a_real_worker(stack: Stack) -> None:
    app.loader.import_default_modules()  # every app's tasks.py, as a worker loads them
    worker = stack.start_worker(concurrency=2)
    sent: dict[str, str] = {}
    for entry_name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        task = app.tasks[entry["task"]]
        # What beat does for each due entry (celery.beat.Scheduler.apply_async).
        result = task.apply_async(
            entry.get("args", ()), entry.get("kwargs", {}), **entry.get("options", {})
        )
        sent[entry_name] = result.id
    for entry_name, task_id in sent.items():
        task = settings.CELERY_BEAT_SCHEDULE[entry_name]["task"]
        worker.wait_log(
            rf"Task {re.escape(task)}\[{task_id}\] succeeded",
            f"{entry_name} ({task}) to succeed on the worker",
            timeout=120,
        )
    text = worker.log()
    assert "raised unexpected" not in text and "Traceback" not in text, text[-4000:]


def test_beat_sends_the_schedule_and_expired_resources_are_destroyed(stack: Stack) -> None:
    team, user = stack.member()
    worker = stack.start_worker(concurrency=2)
    resource = stack.request(
        user,
        team,
        "tf_echo",
        {"message": "short-lived"},
        expires_at=timezone.now() + timedelta(hours=1),
    )
    wait_for(
        lambda: Resource.objects.get(pk=resource.pk).status == ResourceStatus.PROVISIONED,
        "the resource to be provisioned",
        timeout=120,
    )
    # Its time is up; from here on only the schedule acts.
    Resource.objects.filter(pk=resource.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    # Every interval × 0.01: expire_resources every 3 s, the jobs' housekeeping every 0.1 s.
    beat = stack.start_beat(IDP_BEAT_SCALE="0.01")
    wait_for(
        lambda: Resource.objects.get(pk=resource.pk).status == ResourceStatus.DESTROYED,
        "the schedule to destroy the expired resource",
        timeout=150,
    )
    resource.refresh_from_db()
    kinds = list(resource.runs.order_by("pk").values_list("kind", "is_destroy", "status"))
    assert kinds[-2:] == [
        (RunKind.PLAN, True, RunStatus.SUCCEEDED),
        (RunKind.DESTROY, True, RunStatus.SUCCEEDED),
    ], kinds
    assert resource.destroyed_at is not None and resource.outputs == {}

    # Beat sent its entries, and the worker ran them.
    beat_log, worker_log = beat.log(), worker.log()
    for entry_name in (
        "provisioning-expire-resources",
        "idp-jobs-housekeeping",
        "provisioning-push-pending-states",
    ):
        task = settings.CELERY_BEAT_SCHEDULE[entry_name]["task"]
        assert f"Sending due task {entry_name} ({task})" in beat_log, beat_log[-3000:]
        assert re.search(rf"Task {re.escape(task)}\[[\w-]+\] succeeded", worker_log), task
    assert "Message Error" not in beat_log and "raised unexpected" not in worker_log
