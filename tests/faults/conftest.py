"""Fixtures of the fault tests: the engine tests' fixtures (fixture modules, environments, a
state bucket on moto) plus parts the faults need of their own (a dedicated Redis server)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.provisioning.engine.conftest import echo, envs, state  # noqa: F401 - fixtures
from tests.utils import free_port, need, port_open


class RedisServer:
    """A `redis-server` of this test only, on its own port; stopped and started at will."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        # No persistence: a restart is an empty broker, the worst case for lost messages.
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while not port_open("127.0.0.1", self.port):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                pytest.fail(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)
        self.proc = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A dedicated Redis (never the shared one on 6379), stopped after the test."""
    need(shutil.which("redis-server"), "the redis-server binary is not installed")
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def producer_on(settings: Any) -> Iterator[Callable[[str], None]]:
    """Point this process's Celery producer at another broker; the old one comes back after."""
    from config.celery import app

    previous = app.conf.broker_url

    def switch(url: str) -> None:
        app.conf.broker_url = url
        # Both pools are made from broker_url on first use (as Celery does after a fork).
        app._pool = None
        app.amqp._producer_pool = None
        settings.CELERY_BROKER_URL = url

    yield switch
    switch(previous)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs mounted for this test (needs root and mount rights), unmounted after."""
    mountpoint = tmp_path / "small-disk"
    mountpoint.mkdir()
    mounted = shutil.which("mount") and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mountpoint)],
        capture_output=True,
        check=False,
    )
    need(mounted and mounted.returncode == 0, "cannot mount a small tmpfs here (needs root)")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def stop_worker(proc: subprocess.Popen[bytes]) -> None:
    """Stop a worker process group: a warm shutdown, then a kill if it hangs (broker gone)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
