"""Real processes for the engine's recovery tests: a database, a broker and a local AWS API
of their own, and `celery -A config worker` / `celery -A config beat` processes as shipped.

- `recovery_db` (session): a fresh database, migrated by `manage.py migrate` in a child
  process: a new PostgreSQL database (dropped at the end) when the suite runs on
  PostgreSQL, else an SQLite file in a temporary folder. Tests talk to it through `stack`.
- `recovery_broker` (session): a dedicated `redis-server` on a free port (emptied before
  each test), or a `filesystem://` broker in a temporary folder where Redis is missing.
- `recovery_moto` (session): a moto server on a free loopback port.
- `stack` (per test): this process's ORM and Celery producer pointed at the three, a
  private run folder, and `start_worker` / `start_beat`; every process it started is
  stopped (its whole process group) when the test ends, failed or not.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import wait_for
from tests.utils import free_port, port_open

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"

SCHEMAS: dict[str, dict[str, Any]] = {
    "tf_echo": {
        "type": "object",
        "properties": {
            "message": {"type": "string"},
            "secret": {"type": "string", "writeOnly": True, "x-sensitive": True},
        },
        "required": ["message"],
        "additionalProperties": False,
    },
    "tf_slow": {
        "type": "object",
        "properties": {
            "delay": {"type": "number", "minimum": 0, "maximum": 120},
            "label": {"type": "string"},
        },
        "additionalProperties": False,
    },
    "tf_linger": {
        "type": "object",
        "properties": {
            "delay": {"type": "number", "minimum": 0, "maximum": 600},
            "pid_file": {"type": "string"},
        },
        "required": ["pid_file"],
        "additionalProperties": False,
    },
    "tf_chatty": {
        "type": "object",
        "properties": {"lines": {"type": "integer", "minimum": 1, "maximum": 1000000}},
        "additionalProperties": False,
    },
    "tf_peek": {
        "type": "object",
        "properties": {"secret": {"type": "string", "writeOnly": True, "x-sensitive": True}},
        "required": ["secret"],
        "additionalProperties": False,
    },
}


# --- the database ---------------------------------------------------------------------------


@dataclass
class RecoveryDatabase:
    url: str  # DATABASE_URL for child processes
    config: dict[str, Any]  # this process's connection settings for it
    drop: Callable[[], None] = lambda: None


def _admin_connect(cfg: dict[str, Any]) -> Any:
    import psycopg

    return psycopg.connect(
        dbname="postgres",
        user=cfg.get("USER") or None,
        password=cfg.get("PASSWORD") or None,
        host=cfg.get("HOST") or "127.0.0.1",
        port=cfg.get("PORT") or 5432,
        autocommit=True,
    )


def _migrate(url: str) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"migrating the recovery database failed:\n{done.stderr.decode()[-3000:]}")


@pytest.fixture(scope="session")
def recovery_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecoveryDatabase]:
    """A database of the recovery tests only (see the module doc)."""
    from django.conf import settings

    current = copy.deepcopy(settings.DATABASES["default"])
    if "postgresql" in current["ENGINE"]:
        name = f"idp_recovery_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        with _admin_connect(current) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        auth = current.get("USER") or "postgres"
        if current.get("PASSWORD"):
            auth += f":{current['PASSWORD']}"
        where = f"{current.get('HOST') or '127.0.0.1'}:{current.get('PORT') or 5432}"
        url = f"postgres://{auth}@{where}/{name}"

        def drop() -> None:
            with _admin_connect(current) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        config = {**current, "NAME": name}
    else:
        path = tmp_path_factory.mktemp("recovery-db") / "idp.sqlite3"
        url = f"sqlite:///{path}"
        config = {**current, "NAME": str(path)}
        config["TEST"] = {**current.get("TEST", {}), "NAME": str(path)}

        def drop() -> None:
            pass

    db = RecoveryDatabase(url=url, config=config, drop=drop)
    try:
        _migrate(url)
        yield db
    finally:
        db.drop()


@contextlib.contextmanager
def using_database(db: RecoveryDatabase, blocker: Any) -> Iterator[None]:
    """This thread's default connection on the recovery database (autocommit: work done here
    is visible to the workers at once), the test database's connection back afterwards.
    Django's content-type cache is keyed by alias, not database: emptied at each switch."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import connections
    from django.db.utils import load_backend

    previous = connections["default"]
    wrapper = load_backend(db.config["ENGINE"]).DatabaseWrapper(copy.deepcopy(db.config), "default")
    connections["default"] = wrapper
    ContentType.objects.clear_cache()
    try:
        with blocker.unblock():
            yield
            wrapper.close()
    finally:
        connections["default"] = previous
        ContentType.objects.clear_cache()


# --- the broker -----------------------------------------------------------------------------


class Broker:
    """A `redis-server` of these tests only (no persistence), or a filesystem broker."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.folder: Path | None = None

    @property
    def url(self) -> str:
        if self.folder is not None:
            return "filesystem://"
        return f"redis://127.0.0.1:{self.port}/0"

    def env(self) -> dict[str, str]:
        values = {"CELERY_BROKER_URL": self.url}
        if self.folder is not None:
            values["IDP_BROKER_DIR"] = str(self.folder)
        return values

    def start(self) -> None:
        if not shutil.which("redis-server"):  # the server-less broker `make run` uses
            self.folder = self.workdir / "broker"
            return
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 15
        while not port_open("127.0.0.1", self.port):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                pytest.fail(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def empty(self) -> None:
        """No message of an earlier test is delivered to this test's worker."""
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            for sub in ("out", "processed", "control"):
                (self.folder / sub).mkdir(parents=True, exist_ok=True)
            return
        import redis

        redis.Redis(host="127.0.0.1", port=self.port).flushall()

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


@pytest.fixture(scope="session")
def recovery_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    broker = Broker(tmp_path_factory.mktemp("recovery-broker"))
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@contextlib.contextmanager
def producer_on(broker: Broker) -> Iterator[None]:
    """This process's Celery producer sends to `broker`; the configured one comes back."""
    from django.conf import settings

    from config.celery import app

    before = (app.conf.broker_url, dict(app.conf.broker_transport_options or {}))
    variable = os.environ.get("CELERY_BROKER_URL")

    def switch(url: str, options: dict[str, Any]) -> None:
        # Celery reads CELERY_BROKER_URL from the environment before its own setting.
        os.environ["CELERY_BROKER_URL"] = url
        app.conf.broker_url = url
        app.conf.broker_transport_options = options
        app._pool = None  # the pools are made from broker_url on first use
        app.amqp._producer_pool = None
        settings.CELERY_BROKER_URL = url

    # Under pytest-xdist the test settings prefix every broker key with the worker's name;
    # the worker processes started here read the same settings, so the producer keeps it.
    options: dict[str, Any] = {
        k: v for k, v in before[1].items() if k == "global_keyprefix" and broker.folder is None
    }
    if broker.folder is not None:
        options = {
            "data_folder_in": str(broker.folder / "out"),
            "data_folder_out": str(broker.folder / "out"),
            "processed_folder": str(broker.folder / "processed"),
            "control_folder": str(broker.folder / "control"),
            "store_processed": False,
        }
    switch(broker.url, options)
    try:
        yield
    finally:
        switch(*before)
        if variable is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = variable


# --- the local AWS API ----------------------------------------------------------------------


@dataclass
class Moto:
    port: int
    server: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """(Re)start on the same port; moto keeps its data in this process, so a restart
        finds the buckets again, as AWS does after an outage."""
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        wait_for(lambda: port_open("127.0.0.1", self.port), "the moto server to listen")

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


@pytest.fixture(scope="session")
def recovery_moto() -> Iterator[Moto]:
    moto = Moto(free_port())
    moto.start()
    try:
        yield moto
    finally:
        moto.stop()


# --- processes ------------------------------------------------------------------------------


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Stop a process and its whole group: SIGTERM (a warm shutdown), then SIGKILL."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # what is left of the group: pool children, Terraform
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=timeout)


@dataclass
class Proc:
    """A Celery process of a test: its log file and ways to wait on it."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_log(self, pattern: str, what: str, timeout: float = 90) -> re.Match[str]:
        regex = re.compile(pattern)

        def found() -> re.Match[str] | None:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                pytest.fail(f"{self.name} exited with {code}:\n{self.log()[-4000:]}")
            return regex.search(self.log())

        try:
            return wait_for(found, what, timeout)
        except pytest.fail.Exception:
            pytest.fail(f"timed out waiting for {what}; {self.name} log:\n{self.log()[-4000:]}")

    def pool_children(self) -> list[int]:
        import psutil

        try:
            return [c.pid for c in psutil.Process(self.proc.pid).children()]
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        stop_process(self.proc)


@dataclass
class Stack:
    """One test's parts: the recovery database, broker and moto, and its processes."""

    db: RecoveryDatabase
    broker: Broker
    moto: Moto
    tmp: Path
    settings: Any
    procs: list[Proc] = field(default_factory=list)

    @property
    def work_dir(self) -> Path:
        return self.tmp / "runs"

    def env(self, **extra: Any) -> dict[str, str]:
        from django.conf import settings

        values = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": self.db.url,
            **self.broker.env(),
            "AWS_ENDPOINT_URL": self.moto.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "IDP_WORK_DIR": str(self.work_dir),
            "TF_PLUGIN_CACHE_DIR": str(settings.IDP_PLUGIN_CACHE_DIR),
            "IDP_SECRET_KEY": str(settings.SECRET_KEY),
            "PYTHONUNBUFFERED": "1",
        }
        values.pop("IDP_CELERY_EAGER", None)
        values.pop("IDP_RUN_QUEUE", None)
        values.update({k: str(v) for k, v in extra.items()})
        return values

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> Proc:
        log_path = self.tmp / f"{name}.log"
        with open(log_path, "ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", *args],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: stopped with everything it started
            )
        started = Proc(name, proc, log_path)
        self.procs.append(started)
        return started

    def start_worker(self, name: str = "worker", *, concurrency: int = 1, **env: Any) -> Proc:
        """`celery -A config worker` as shipped (prefork), logging each task's end; returns once
        it consumes."""
        worker = self._spawn(
            name,
            ["worker", "--pool", "prefork", "-c", str(concurrency), "-n",
             f"{name}-{uuid.uuid4().hex[:6]}@%h", "--without-gossip", "--without-mingle",
             "-l", "info"],
            self.env(**env),
        )  # fmt: skip
        worker.wait_log(r"\bready\.", f"{name} to be ready", timeout=90)
        return worker

    def start_beat(self, name: str = "beat", **env: Any) -> Proc:
        """`celery -A config beat` with its schedule file and pid file in the test's folder."""
        return self._spawn(
            name,
            ["beat", "-s", str(self.tmp / f"{name}-schedule"), "--pidfile",
             str(self.tmp / f"{name}.pid"), "-l", "info"],
            self.env(**env),
        )  # fmt: skip

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()

    # --- domain helpers (in this process, on the recovery database) ---------------------

    def member(self, role: str = "maintainer") -> tuple[Any, Any]:
        """A new team and a user of it (names unique within the session's database)."""
        from django.contrib.auth import get_user_model

        from idp import services

        tag = uuid.uuid4().hex[:8]
        team = services.create_team(f"team-{tag}")
        user = get_user_model().objects.create_user(username=f"user-{tag}", password="pw")
        services.set_membership(team, user, role)
        return team, user

    def environment(self) -> Any:
        from idp.models import Environment

        env, _ = Environment.objects.get_or_create(
            slug="dev", defaults={"name": "Dev", "allows_ttl": True, "order": 1}
        )
        return env

    def register(self, folder: str) -> Any:
        return register_module(folder)

    def request(
        self, user: Any, team: Any, folder: str, parameters: dict[str, Any], **kw: Any
    ) -> Any:
        from provisioning import actions

        self.environment()
        version = self.register(folder)
        return actions.request_resource(
            actor=user,
            template=version.template.slug,
            version=None,
            team=team,
            environment="dev",
            name=kw.pop("name", f"r-{uuid.uuid4().hex[:6]}"),
            parameters=parameters,
            **kw,
        ).resource


def register_module(folder: str) -> Any:
    """Register a fixture folder as its template's new current version."""
    from catalog.models import Template, TemplateVersion

    root = FIXTURES / folder
    files = {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*.tf"))}
    digest = hashlib.sha256(repr(sorted(files.items())).encode() + uuid.uuid4().bytes)
    template, _ = Template.objects.get_or_create(
        slug=folder.replace("_", "-"), defaults={"title": folder}
    )
    number = template.versions.order_by("-number").values_list("number", flat=True).first() or 0
    version = TemplateVersion.objects.create(
        template=template,
        number=number + 1,
        content_hash=digest.hexdigest(),
        files=files,
        parameters_schema=SCHEMAS[folder],
    )
    template.current_version = version
    template.save(update_fields=["current_version"])
    return version


@pytest.fixture
def stack(
    recovery_db: RecoveryDatabase,
    recovery_broker: Broker,
    recovery_moto: Moto,
    django_db_blocker: Any,
    settings: Any,
    tmp_path: Path,
) -> Iterator[Stack]:
    """The recovery database, broker and moto for this test (see the module doc)."""
    from provisioning.engine.backend import ensure_state_bucket

    recovery_broker.empty()
    settings.AWS_ENDPOINT_URL = recovery_moto.url
    settings.IDP_WORK_DIR = tmp_path / "runs"
    settings.IDP_PLUGIN_CACHE_DIR = tmp_path.parent.parent / "recovery-plugin-cache"
    previous_endpoint = os.environ.get("AWS_ENDPOINT_URL")
    os.environ["AWS_ENDPOINT_URL"] = recovery_moto.url
    parts = Stack(recovery_db, recovery_broker, recovery_moto, tmp_path, settings)
    try:
        with using_database(recovery_db, django_db_blocker), producer_on(recovery_broker):
            ensure_state_bucket()
            try:
                yield parts
            finally:
                parts.stop_all()
    finally:
        parts.stop_all()
        if previous_endpoint is None:
            os.environ.pop("AWS_ENDPOINT_URL", None)
        else:
            os.environ["AWS_ENDPOINT_URL"] = previous_endpoint


def alive(pid: int) -> bool:
    """Is the process running (a zombie waiting to be reaped counts as gone)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def log_of(run: Any) -> str:
    return "".join(run.log_chunks.order_by("seq").values_list("text", flat=True))


def drive(resource: Any, *, limit: int = 10) -> list[Any]:
    """Execute the resource's queued runs in order, in this process, until none is left."""
    from provisioning.choices import RunStatus
    from provisioning.engine.runner import RunTask

    done = []
    for _ in range(limit):
        run = resource.runs.filter(status=RunStatus.QUEUED).order_by("pk").first()
        if run is None:
            break
        RunTask(run.pk).run()
        run.refresh_from_db()
        done.append(run)
    resource.refresh_from_db()
    return done
