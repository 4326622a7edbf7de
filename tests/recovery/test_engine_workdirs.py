"""A run's decrypted variables are private and short-lived: the working directory is 0700,
the variables file 0600 and gone as soon as Terraform's commands end (a plan's kept
directory never holds it). Directories of runs no longer active (a killed worker's) are
swept when a worker starts and on the schedule; a state Terraform could not store is moved
aside, never deleted with them."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from config.celery import app
from provisioning import actions, lifecycle
from provisioning.choices import RunStatus
from provisioning.engine import runner, workdirs
from provisioning.models import Run

from .engine_procs import Stack, drive, log_of, wait_for

# The recovery database, broker, moto server and processes (the `stack` fixture).
pytest_plugins = ["tests.recovery.engine_procs"]

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(240)]

SECRET = "s3cr3t-peek-value"


def variables_files(root: Path) -> list[Path]:
    return list(root.rglob(workdirs.VARIABLES))


def test_variables_are_private_and_removed_when_terraform_is_done(
    stack: Stack, monkeypatch: Any
) -> None:
    team, user = stack.member()
    seen: list[str] = []
    keep, finish_apply = workdirs.keep, runner.finish_apply

    def keep_checked(workdir: Path, *args: Any) -> Any:
        seen.append(f"plan: {(workdir / workdirs.VARIABLES).exists()}")
        return keep(workdir, *args)

    def finish_checked(*args: Any) -> Any:
        seen.append(f"apply: {bool(variables_files(stack.work_dir))}")
        return finish_apply(*args)

    monkeypatch.setattr(workdirs, "keep", keep_checked)
    monkeypatch.setattr(runner, "finish_apply", finish_checked)
    resource = stack.request(user, team, "tf_peek", {"secret": SECRET})
    plan, apply = drive(resource)
    assert plan.status == apply.status == RunStatus.SUCCEEDED, (plan.error, apply.error)
    text = log_of(apply)  # the provisioner runs in the apply, with the variables on disk
    assert "peek: variables mode 600" in text and "peek: directory mode 700" in text, text
    assert SECRET not in text + log_of(plan)
    # Gone before the plan's directory was kept, and before the apply recorded its result.
    assert seen == ["plan: False", "apply: False"]
    assert variables_files(stack.work_dir) == []
    assert not list(stack.work_dir.glob("run-*"))


def leftover(root: Path, run_id: int, *, errored: bool = False, age: float = 0) -> Path:
    path = root / f"run-{run_id}-{os.urandom(4).hex()}"
    path.mkdir(parents=True)
    (path / workdirs.VARIABLES).write_text(f'{{"secret": "{SECRET}"}}')
    if errored:
        (path / workdirs.ERRORED_STATE).write_text('{"version": 4, "serial": 3}')
    if age:
        then = time.time() - age
        os.utime(path, (then, then))
    return path


def test_leftover_run_directories_are_swept_at_worker_start_and_on_schedule(
    stack: Stack,
) -> None:
    team, user = stack.member()
    ended = stack.request(user, team, "tf_echo", {"message": "x"}).runs.get()
    actions.cancel_run(ended, actor=user)  # queued → cancelled: a run no longer active
    working = stack.request(user, team, "tf_echo", {"message": "y"}).runs.get()
    assert lifecycle.start_run(working, worker="elsewhere:1:main")  # another worker's run

    root = stack.work_dir
    killed = leftover(root, ended.pk, errored=True)
    active = leftover(root, working.pk)
    unknown_new = leftover(root, 10**9)
    unknown_old = leftover(root, 10**9 + 1, age=3 * 24 * 3600)

    worker = stack.start_worker()
    wait_for(lambda: not killed.exists(), "the worker start to sweep")
    assert active.exists() and unknown_new.exists() and not unknown_old.exists()
    (rescued,) = (root / "rescued-state").glob(f"run-{ended.pk}-*.tfstate")
    assert rescued.read_text() == '{"version": 4, "serial": 3}'
    assert oct(rescued.stat().st_mode & 0o777) == "0o600"

    # Later, the schedule's sweep (sent as beat sends it) takes what another kill left.
    Run.objects.filter(pk=working.pk).update(heartbeat_at=None)
    lifecycle.end_run(Run.objects.get(pk=working.pk), RunStatus.FAILED, error="worker lost")
    task = app.tasks["provisioning.sweep_workdirs"]
    result = task.apply_async()
    worker.wait_log(
        rf"Task provisioning.sweep_workdirs\[{re.escape(result.id)}\] succeeded", "sweep"
    )
    assert not active.exists() and unknown_new.exists()
    assert variables_files(root) == [unknown_new / workdirs.VARIABLES]
