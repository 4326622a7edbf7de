"""Real processes for the ops recovery tests: `manage.py` commands, `run_platform`, a portal
on a file SQLite database, gunicorn on a PostgreSQL database of its own.

Every process started here carries a mark in its environment; `Procs.stop_all()` stops the
process groups it started and then kills anything still carrying the mark, so children
that moved to process groups of their own (run_platform's) are never left behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.helpers import wait_for as wait_until

ROOT = Path(__file__).resolve().parent.parent.parent
MANAGE = str(ROOT / "manage.py")
MARK = "IDP_TEST_PROCESS_MARK"
# What a child must never inherit from the test run: its database, broker and AWS come
# from the test, and its settings module is the one it names.
INHERITED_NOT = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "IDP_BROKER_DIR",
    "AWS_ENDPOINT_URL",
    "IDP_SANDBOX_AWS_ENDPOINT",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "DJANGO_SETTINGS_MODULE",
    "IDP_VAR_DIR",
    "IDP_WORK_DIR",
    "IDP_CACHE_URL",
    "PYTEST_CURRENT_TEST",
)


def base_env(mark: str, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in INHERITED_NOT}
    env.update(
        {MARK: mark, "PYTHONUNBUFFERED": "1", "DJANGO_SETTINGS_MODULE": "config.settings.dev"}
    )
    env.update(values)
    return env


def marked_pids(mark: str) -> list[int]:
    """Processes whose environment carries `MARK=mark` (Linux /proc)."""
    needle = f"{MARK}={mark}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Running, and not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def children_of(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of `pid`'s direct children."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError):
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found.append((int(entry.name), cmdline.strip()))
    return found


class Procs:
    """The processes of one test (or module); `stop_all()` leaves none behind."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.mark = uuid.uuid4().hex
        self.started: list[subprocess.Popen[bytes]] = []

    def env(self, **values: str) -> dict[str, str]:
        """The environment of a child: nothing of the test run's database, broker or AWS,
        and a var/ of its own (never the project's, where a `make run` may be running)."""
        return base_env(self.mark, **{"IDP_VAR_DIR": str(self.workdir / "var"), **values})

    def start(
        self, args: list[str], env: Mapping[str, str], log: Path, cwd: Path | None = None
    ) -> subprocess.Popen[bytes]:
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                args,
                env=dict(env),
                cwd=cwd or self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append(proc)
        return proc

    def manage(
        self, *args: str, env: Mapping[str, str], timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """`manage.py ARGS` to its end, as from another terminal."""
        done = subprocess.run(
            [sys.executable, MANAGE, *args],
            env=dict(env),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode:
            pytest.fail(
                f"manage.py {' '.join(args)} exited {done.returncode}:\n"
                f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        return done

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.started:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        for pid in marked_pids(self.mark):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def processes(workdir: Path) -> Iterator[Procs]:
    procs = Procs(workdir)
    try:
        yield procs
    finally:
        procs.stop_all()


# --- HTTP ---------------------------------------------------------------------------------


def http(
    method: str,
    url: str,
    body: Any = None,
    token: str = "",
    timeout: float = 30,
) -> tuple[int, dict[str, str], bytes]:
    """One request: (status, headers, body); HTTP errors are answers, not exceptions."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wait_for_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    def up() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"{url} exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError):
            return http("GET", url, timeout=2)[0] == 200
        return False

    wait_until(up, url, timeout)


# --- Databases ----------------------------------------------------------------------------


def migrated_sqlite(procs: Procs, path: Path) -> str:
    """A file SQLite database with every migration applied; returns its URL."""
    url = f"sqlite:///{path}"
    procs.manage("migrate", "--no-input", env=procs.env(DATABASE_URL=url))
    return url


@contextlib.contextmanager
def fresh_postgres(server_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of `server_url`; dropped after."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(server_url)
    name = f"idp_recovery_{uuid.uuid4().hex[:10]}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
