"""Every way a run stops ends everything Terraform started: a provisioner's child that a
cooperative stop orphans (tests/fixtures/tf_linger) is gone after a cancel, after the run's
time limit, and after the worker process running it is killed."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from provisioning import actions
from provisioning.choices import RunKind, RunStatus
from provisioning.engine.dbretry import retry_locked
from provisioning.models import Resource, Run

from .engine_procs import Stack, alive, wait_for

# The recovery database, broker, moto server and processes (the `stack` fixture).
pytest_plugins = ["tests.recovery.engine_procs"]

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(300)]


def lingering_pid(pid_file: Path) -> int | None:
    try:
        text = pid_file.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def running_apply(resource: Resource) -> Run | None:
    return resource.runs.filter(kind=RunKind.APPLY, status=RunStatus.RUNNING).first()


def test_cancel_time_limit_and_worker_death_leave_no_process_behind(
    stack: Stack, tmp_path: Path
) -> None:
    team, user = stack.member()
    # Three applies side by side; the run time limit ends the one nobody stops.
    worker = stack.start_worker(concurrency=3, IDP_RUN_TIME_LIMIT=35)
    files = {name: tmp_path / f"{name}.pid" for name in ("cancelled", "timed-out", "killed")}
    resources = {
        name: stack.request(
            user, team, "tf_linger", {"delay": 240, "pid_file": str(path)}, name=name
        )
        for name, path in files.items()
    }
    pids = {
        name: wait_for(lambda p=path: lingering_pid(p), f"the {name} provisioner's child", 120)
        for name, path in files.items()
    }
    assert all(alive(pid) for pid in pids.values())

    # A cancel: Terraform stops cooperatively and the orphaned child goes with it.
    cancelled = running_apply(resources["cancelled"])
    assert cancelled is not None
    retry_locked(actions.cancel_run)(cancelled, actor=user)

    # The worker process running an apply dies (SIGKILL, no goodbye).
    killed = running_apply(resources["killed"])
    assert killed is not None and killed.worker
    child = int(killed.worker.split(":")[1])
    assert child in worker.pool_children()
    os.kill(child, signal.SIGKILL)

    wait_for(
        lambda: Run.objects.get(pk=cancelled.pk).status == RunStatus.CANCELLED, "the cancel", 60
    )
    wait_for(lambda: not alive(pids["cancelled"]), "the cancelled run's child to go", 30)
    wait_for(lambda: not alive(pids["killed"]), "the killed worker's child to go", 60)

    timed_out = running_apply(resources["timed-out"])
    assert timed_out is not None
    wait_for(
        lambda: Run.objects.get(pk=timed_out.pk).status != RunStatus.RUNNING,
        "the run's time limit",
        timeout=120,
    )
    timed_out.refresh_from_db()
    assert timed_out.status == RunStatus.FAILED and "time limit" in timed_out.error
    wait_for(lambda: not alive(pids["timed-out"]), "the timed-out run's child to go", 30)
