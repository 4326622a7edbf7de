"""The real parts the provisioning benchmark needs: a moto server and a Celery worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import httpx

from .environment import REPO
from .load import free_port


def _stop(process: subprocess.Popen[bytes] | None, timeout: float = 30) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class MotoServer:
    """`python -m moto.server` on a free loopback port: S3 for the state, SSM for outputs."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> MotoServer:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/moto-api/", timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("moto server did not start within 60 s")

    def __exit__(self, *exc: object) -> None:
        _stop(self.process)


class CeleryWorker:
    """A real prefork Celery worker on the benchmark's Redis db, with `concurrency` children."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self.name = f"bench{concurrency}-{uuid.uuid4().hex[:6]}@localhost"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> CeleryWorker:
        from config.celery import app

        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "config", "worker",
                "-P", "prefork", "-c", str(self.concurrency), "-n", self.name,
                "-l", "WARNING", "--without-gossip", "--without-mingle",
            ],
            cwd=REPO,
            env=os.environ.copy(),
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited with {self.process.returncode}")
            if app.control.ping(destination=[self.name], timeout=1.0):
                return self
        self.__exit__()
        raise RuntimeError("celery worker did not answer a ping within 90 s")

    def __exit__(self, *exc: object) -> None:
        _stop(self.process, timeout=60)
