"""Ops commands exit non-zero when they did not do their job (`manage.py` turns a
CommandError into exit 1), and `idp/runenv.py` hands commands a running `make run`'s
settings without overriding what the terminal sets."""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from config.management.commands.run_platform import MAX_QUICK_DEATHS, QUICK_SECONDS, Restarts
from idp import runenv, services

CLOSED = "http://127.0.0.1:9"  # nothing listens on loopback's port 9: refused at once


@pytest.fixture
def aws_down(settings: Any) -> None:
    settings.AWS_ENDPOINT_URL = CLOSED
    settings.IDP_AWS_RETRY_ATTEMPTS = 1
    settings.IDP_AWS_RETRY_WAIT_MAX = 0.0


def test_collect_costs_fails_when_cost_explorer_does_not_answer(db: None, aws_down: None) -> None:
    services.upsert_environment("dev", order=10)
    err = io.StringIO()
    with pytest.raises(CommandError, match="Cost collection failed: 1 error"):
        call_command("collect_costs", stdout=io.StringIO(), stderr=err)
    assert "dev" in err.getvalue()


def test_detect_drift_fails_for_a_resource_it_did_not_check(db: None) -> None:
    with pytest.raises(CommandError, match="No resource with id 424242"):
        call_command("detect_drift", "424242", stdout=io.StringIO())


def test_ensure_state_backend_fails_when_s3_does_not_answer(db: None, aws_down: None) -> None:
    with pytest.raises(CommandError, match="Could not prepare the state bucket"):
        call_command("ensure_state_backend", stdout=io.StringIO())


def test_backup_state_fails_when_s3_does_not_answer(db: None, aws_down: None) -> None:
    with pytest.raises(CommandError, match="Backup failed"):
        call_command("backup_state", stdout=io.StringIO())


def test_run_env_fills_in_only_what_the_terminal_left_unset(tmp_path: Path) -> None:
    shared = {"CELERY_BROKER_URL": "filesystem://", "AWS_ENDPOINT_URL": "http://127.0.0.1:5055"}
    path = runenv.write(tmp_path, shared, os.getpid())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    environ = {"IDP_VAR_DIR": str(tmp_path), "AWS_ENDPOINT_URL": "http://elsewhere"}
    assert runenv.load(environ) == {"CELERY_BROKER_URL": "filesystem://"}
    assert environ["AWS_ENDPOINT_URL"] == "http://elsewhere"
    # Tests and production never read it.
    settings_module = {
        "IDP_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    assert runenv.load(settings_module) == {}
    # Another process's file is not ours to remove; ours goes.
    runenv.remove(tmp_path, os.getpid() + 1)
    assert path.exists()
    runenv.remove(tmp_path, os.getpid())
    assert not path.exists()


def test_run_env_of_a_make_run_that_was_killed_is_ignored(tmp_path: Path) -> None:
    gone = 2**22 + 7  # above the default pid_max: no such process
    (tmp_path / runenv.FILENAME).write_text(
        json.dumps({"pid": gone, "env": {"CELERY_BROKER_URL": "filesystem://"}})
    )
    assert runenv.load({"IDP_VAR_DIR": str(tmp_path)}) == {}


def test_make_run_restarts_a_dying_child_with_backoff_then_gives_up() -> None:
    restarts = Restarts()
    assert [restarts.after_exit(1.0) for _ in range(MAX_QUICK_DEATHS - 1)] == [2, 4, 8, 16]
    assert restarts.after_exit(1.0) is None  # the fifth quick death in a row: stop trying
    restarts = Restarts()
    assert restarts.after_exit(1.0) == 2 and restarts.after_exit(1.0) == 4
    assert restarts.after_exit(QUICK_SECONDS + 1) == 2  # it had been running: a fresh start
