"""`idp resources logs ID --follow` says it waits for a worker while the run is queued, then
streams the log once a worker writes it (the worker's steps are taken by a thread here, the
way the engine takes them: start, log, end)."""

# ruff: noqa: F811 - the surfaces fixtures are imported by name, then asked for by name
from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from idp.models import APIToken
from provisioning import lifecycle
from provisioning.choices import ResourceStatus, RunStatus
from provisioning.models import Run
from tests.provisioning.surfaces.conftest import (  # noqa: F401 - fixtures
    envs,
    make_resource,
    make_run,
    template,
)


def _worker_takes(run_pk: int, after: float) -> threading.Thread:
    """A worker that starts the run `after` seconds once the CLI made its first request (its
    token is marked used): the CLI starts slowly, a fixed delay would race it."""

    def work() -> None:
        try:
            deadline = time.monotonic() + 60
            while not APIToken.objects.filter(last_used_at__isnull=False).exists():
                assert time.monotonic() < deadline, "the CLI never called the API"
                time.sleep(0.05)
            time.sleep(after)
            run = Run.objects.get(pk=run_pk)
            assert lifecycle.start_run(run, worker="test-worker")
            text = "Terraform planned: 1 to add\n"
            run.log_chunks.create(seq=0, offset=0, text=text)
            Run.objects.filter(pk=run_pk).update(log_size=len(text))
            lifecycle.end_run(run, RunStatus.SUCCEEDED)
        finally:
            connection.close()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def test_follow_says_waiting_for_a_worker_then_streams(
    cli: Any, token_for: Any, alice: Any, teams: Any, make_resource: Any, make_run: Any
) -> None:
    resource = make_resource(teams["payments"], "cfg", status=ResourceStatus.PROVISIONED)
    run = make_run(resource, status=RunStatus.QUEUED, created_by=alice)
    Run.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(seconds=3))
    token = token_for(alice)
    thread = _worker_takes(run.pk, after=1.0)
    result = cli("resources", "logs", str(resource.pk), "--follow", token=token)
    thread.join(10)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    waiting = [line for line in result.stderr.splitlines() if "Waiting for a worker" in line]
    assert len(waiting) == 1, result.stderr  # said once, not on every poll
    assert f"Waiting for a worker… run {run.pk} is queued (queued " in waiting[0]
    assert "Terraform planned: 1 to add" in result.stdout
    assert "Waiting" not in result.stdout  # the log on stdout stays the log


def test_without_follow_nothing_waits(
    cli: Any, token_for: Any, alice: Any, teams: Any, make_resource: Any, make_run: Any
) -> None:
    resource = make_resource(teams["payments"], "cfg", status=ResourceStatus.PROVISIONED)
    make_run(resource, status=RunStatus.QUEUED, created_by=alice)
    result = cli("resources", "logs", str(resource.pk), token=token_for(alice))
    assert result.exit_code == 0 and "Waiting" not in result.stderr + result.stdout


def test_another_teams_run_is_not_followed(
    cli: Any, token_for: Any, carol: Any, teams: Any, make_resource: Any, make_run: Any
) -> None:
    resource = make_resource(teams["payments"], "cfg", status=ResourceStatus.PROVISIONED)
    make_run(resource, status=RunStatus.QUEUED)
    result = cli("resources", "logs", str(resource.pk), "--follow", token=token_for(carol))
    assert result.exit_code != 0 and "Waiting" not in result.stderr + result.stdout
