"""`manage.py run_platform` (what `make run` runs), in a folder of its own, as a developer
uses it: commands from a second terminal reach its broker, database and local AWS API; a
killed worker or local AWS API comes back (the AWS API with its data); Ctrl-C stops it all.

One platform serves the module (starting it costs ~40 s); the last test stops it.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.utils import free_port, port_open

from .ops_procs import (
    MANAGE,
    Procs,
    alive,
    children_of,
    http,
    marked_pids,
    processes,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(300)]

BUCKET = "idp-terraform-state"
KEY = "teams/payments/dev/one.tfstate"
STATE = b'{"version": 4, "serial": 7, "outputs": {"kept": {"value": "yes"}}}'


@dataclass
class Platform:
    procs: Procs
    proc: subprocess.Popen[bytes]
    root: Path
    var: Path
    port: int
    aws_port: int
    console_log: Path
    stored: list[str] = field(default_factory=list)  # state keys put in the local AWS API

    def store(self, key: str) -> None:
        self.s3().put_object(Bucket=BUCKET, Key=key, Body=STATE)
        self.stored.append(key)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def aws_url(self) -> str:
        return f"http://127.0.0.1:{self.aws_port}"

    def console(self) -> str:
        return self.console_log.read_text(errors="replace")

    def terminal(self, **values: str) -> dict[str, str]:
        """A second terminal's environment: nothing but where `make run` keeps var/."""
        return self.procs.env(IDP_VAR_DIR=str(self.var), **values)

    def child(self, word: str) -> int:
        """The pid of run_platform's child whose command line has `word`."""
        found = [pid for pid, cmd in children_of(self.proc.pid) if word in cmd]
        assert len(found) == 1, children_of(self.proc.pid)
        return found[0]

    def s3(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.aws_url,
            region_name="eu-west-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def heartbeats(self) -> list[str]:
        with sqlite3.connect(self.var / "idp.sqlite3", timeout=20) as db:
            rows = db.execute(
                "SELECT details FROM idp_auditevent WHERE action = 'platform.heartbeat'"
            ).fetchall()
        return [json.loads(row[0]).get("note", "") for row in rows]

    def heartbeat_reaches_a_worker(self, note: str) -> None:
        """Send the heartbeat task from a second terminal; the platform's worker records it."""
        self.procs.manage(
            "shell",
            "-c",
            f"from idp.tasks import record_heartbeat; record_heartbeat.delay({note!r})",
            env=self.terminal(),
        )
        wait_until(lambda: note in self.heartbeats(), f"the worker to record {note}", 60)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    root = tmp_path_factory.mktemp("make-run")
    var = root / "var"
    with processes(root) as procs:
        port, aws_port = free_port(), free_port()
        console = root / "console.log"
        env = procs.env(
            IDP_VAR_DIR=str(var),
            DATABASE_URL=f"sqlite:///{var / 'idp.sqlite3'}",
            CELERY_BROKER_URL="filesystem://",
            IDP_BROKER_DIR=str(var / "broker"),
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="eu-west-1",
        )
        proc = procs.start(
            [
                *(sys.executable, MANAGE, "run_platform", "--var-dir", str(var)),
                *("--port", str(port), "--aws-port", str(aws_port)),
                # The ops commands are counted on a quiet platform, not the demo's activity.
                "--no-demo-activity",
            ],
            env,
            console,
        )

        def started() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"run_platform exited ({proc.returncode}):\n{console.read_text()}")
            return "Ctrl-C stops everything" in console.read_text()

        wait_until(started, "make run to start", 180)
        yield Platform(procs, proc, root, var, port, aws_port, console)


def test_commands_from_a_second_terminal_use_the_running_platform(platform: Platform) -> None:
    run_env = platform.var / "run-env.json"
    assert stat.S_IMODE(run_env.stat().st_mode) == 0o600
    assert json.loads(run_env.read_text())["env"]["AWS_ENDPOINT_URL"] == platform.aws_url
    terminal = platform.terminal()
    manage = platform.procs.manage

    # The local AWS API: without the file these went to real AWS, with no credentials.
    out = manage("ensure_state_backend", env=terminal)
    assert BUCKET in out.stdout
    platform.store(KEY)
    out = manage("backup_state", "--prefix", "backups/recovery/", env=terminal)
    assert "Copied 1 state objects" in out.stdout
    copy = platform.s3().get_object(Bucket=BUCKET, Key="backups/recovery/" + KEY)
    assert copy["Body"].read() == STATE
    manage("collect_costs", env=terminal)
    # The broker: a task sent from here is run by the platform's worker (it went to this
    # process's own memory before).
    platform.heartbeat_reaches_a_worker("from-a-second-terminal")

    # Variables set in the terminal win; a command that did not do its job exits non-zero.
    failed = manage(
        "collect_costs",
        env=platform.terminal(AWS_ENDPOINT_URL="http://127.0.0.1:9", IDP_AWS_RETRY_ATTEMPTS="1"),
        check=False,
    )
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "Cost collection failed" in failed.stderr
    missing = manage("detect_drift", "424242", env=terminal, check=False)
    assert missing.returncode == 1 and "No resource with id 424242" in missing.stderr

    # The portal runs with DEBUG on, and its API still answers errors in JSON.
    status, headers, body = http("GET", f"{platform.url}/api/v1/no-such-thing/")
    assert status == 404 and headers["Content-Type"] == "application/json", body[:300]
    assert json.loads(body) == {"detail": "Not found."}


def test_a_killed_worker_is_restarted_and_runs_tasks(platform: Platform) -> None:
    worker = platform.child(" worker ")
    pool = [pid for pid, _ in children_of(worker)]
    os.kill(worker, signal.SIGKILL)
    wait_until(
        lambda: "worker exited (code -9); restarting in 2 s" in platform.console(),
        "run_platform to say the worker died",
        30,
    )
    wait_until(lambda: "worker restarted" in platform.console(), "the worker to restart", 30)
    assert platform.child(" worker ") != worker
    assert not [pid for pid in pool if alive(pid)], "the dead worker's pool processes linger"
    platform.heartbeat_reaches_a_worker("after-the-worker-was-killed")
    assert platform.proc.poll() is None


def test_the_local_aws_api_keeps_its_data_when_it_restarts(platform: Platform) -> None:
    s3 = platform.s3()
    key = "teams/search/dev/kept.tfstate"
    platform.store(key)
    moto = platform.child("serve-aws")
    os.kill(moto, signal.SIGKILL)
    wait_until(
        lambda: "aws exited (code -9); restarting in 2 s" in platform.console(),
        "run_platform to say the local AWS API died",
        30,
    )
    wait_until(lambda: "aws restarted" in platform.console(), "the local AWS API to restart", 30)
    wait_until(lambda: port_open("127.0.0.1", platform.aws_port), "the local AWS API's port", 60)
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == STATE
    # What ensure_state_backend set up is back too.
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert {key, KEY} <= keys


def test_ctrl_c_stops_every_child(platform: Platform) -> None:
    assert marked_pids(platform.procs.mark), "nothing runs"
    platform.proc.send_signal(signal.SIGINT)
    assert platform.proc.wait(timeout=60) == 0, platform.console()[-3000:]
    assert "Stopping" in platform.console()
    wait_until(
        lambda: not [pid for pid in marked_pids(platform.procs.mark) if alive(pid)],
        "every child of run_platform to be gone",
        15,
    )
    assert not (platform.var / "run-env.json").exists()
    assert not port_open("127.0.0.1", platform.port)


def test_the_next_make_run_finds_the_local_aws_api_data(platform: Platform) -> None:
    """After the platform stopped, its local AWS API starts again from var/ (as the next
    `make run` starts it) with the state files and bucket settings it had."""
    if platform.proc.poll() is None:  # run on its own
        platform.store("teams/search/dev/next.tfstate")
        platform.proc.send_signal(signal.SIGINT)
        platform.proc.wait(timeout=60)
    port = free_port()
    log = platform.root / "aws-again.log"
    platform.procs.start(
        [
            *(sys.executable, "-m", "config.management.commands.run_platform"),
            *("serve-aws", str(port), str(platform.var / "aws-state.jsonl")),
        ],
        platform.procs.env(),
        log,
    )
    wait_until(lambda: port_open("127.0.0.1", port), "the local AWS API to start again", 60)
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    assert platform.stored
    for key in platform.stored:
        assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == STATE, key
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    assert "replayed" in log.read_text()
