"""Fixtures every app's tests share: users in teams by role, API clients, a moto server,
a real Celery worker."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db.backends.signals import connection_created
from rest_framework.test import APIClient

from idp import services
from idp.choices import Role
from idp.models import Team

from .browser_support import (  # noqa: F401 - fixtures and hooks
    browser,
    page,
    pytest_collection_modifyitems,
    pytest_runtest_makereport,
)
from .utils import free_port, need

# The order test files are handed to pytest-xdist's workers; the flush between transactional
# tests; live servers without the delayed-ACK pause.
pytest_plugins = ["tests.scheduling", "tests.fast_flush"]


def _sqlite_memory_reads_unblocked(sender: Any, connection: Any, **kwargs: Any) -> None:
    """SQLite's shared in-memory test database locks whole tables, so a live server or test
    thread reading while a worker thread writes fails at once; reads skip those locks.
    PostgreSQL and file databases (make run) never need this."""
    name = str(connection.settings_dict.get("NAME", ""))
    if connection.vendor == "sqlite" and ("memory" in name or name == ":memory:"):
        connection.cursor().execute("PRAGMA read_uncommitted = true")


connection_created.connect(_sqlite_memory_reads_unblocked, dispatch_uid="tests-sqlite-reads")

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Each test starts with an empty cache: list counts, grants and rate limits (DRF's and
    allauth's) are its own. So does Django's content-type cache: it is process-wide, keyed
    by connection alias, not by database, and its ids are not stable. A transactional
    test's flush recreates the content types under new ids, and the recovery tests point
    "default" at a database of their own with ids of its own; an entry kept from either
    made guardian's assign_perm look for permissions under a content type id that this
    database does not have (Permission.DoesNotExist) once pytest-xdist mixed those tests
    with the others in one worker."""
    from django.contrib.contenttypes.models import ContentType
    from django.core.cache import cache

    cache.clear()
    ContentType.objects.clear_cache()


@pytest.fixture
def shared_cache(settings: Any, tmp_path: Any) -> None:
    """A cache every process would see (files here, Redis in production): grants, tokens and
    the approvals badge are kept in it only then."""
    from idp.rbac import shared_cache

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }
    assert shared_cache() is not None


@pytest.fixture
def make_team(db: None) -> Callable[..., Team]:
    def make(slug: str, **kwargs: Any) -> Team:
        return Team.objects.filter(slug=slug).first() or services.create_team(slug, **kwargs)

    return make


@pytest.fixture
def make_user(db: None) -> Callable[..., Any]:
    def make(username: str, *, team: Team | None = None, role: str = Role.MEMBER, **kw: Any) -> Any:
        user = get_user_model().objects.create_user(
            username=username, email=f"{username}@example.com", password="pw-" + username, **kw
        )
        if team is not None:
            services.set_membership(team, user, role)
        return user

    return make


@pytest.fixture
def platform_admin(make_user: Callable[..., Any]) -> Any:
    user = make_user("padmin")
    services.set_platform_admin(user, True)
    return user


@pytest.fixture
def teams(make_team: Callable[..., Team]) -> dict[str, Team]:
    return {"payments": make_team("payments"), "search": make_team("search")}


@pytest.fixture
def alice(make_user: Callable[..., Any], teams: dict[str, Team]) -> Any:
    """A member of payments."""
    return make_user("alice", team=teams["payments"], role=Role.MEMBER)


@pytest.fixture
def bob(make_user: Callable[..., Any], teams: dict[str, Team]) -> Any:
    """A maintainer of payments."""
    return make_user("bob", team=teams["payments"], role=Role.MAINTAINER)


@pytest.fixture
def carol(make_user: Callable[..., Any], teams: dict[str, Team]) -> Any:
    """A member of search."""
    return make_user("carol", team=teams["search"], role=Role.MEMBER)


@pytest.fixture
def api_as() -> Callable[[Any], APIClient]:
    """An API client signed in as a user through a real personal API token."""

    def make(user: Any) -> APIClient:
        client = APIClient()
        if user is not None:
            _, raw = services.create_api_token(user, name="test")
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return make


@pytest.fixture
def client_as(client: Any) -> Callable[[Any], Any]:
    """The Django test client with a signed-in session."""

    def make(user: Any) -> Any:
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return make


# --- A local AWS API over real HTTP -------------------------------------------------


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto server on a free loopback port for the whole session; yields its URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    previous = os.environ.get("AWS_ENDPOINT_URL")
    os.environ["AWS_ENDPOINT_URL"] = url
    try:
        yield url
    finally:
        server.stop()
        if previous is None:
            os.environ.pop("AWS_ENDPOINT_URL", None)
        else:
            os.environ["AWS_ENDPOINT_URL"] = previous


@pytest.fixture
def aws(moto_server: str, settings: Any) -> Iterator[str]:
    """Point the platform at the moto server, with moto's state reset after the test."""
    import urllib.request

    settings.AWS_ENDPOINT_URL = moto_server
    yield moto_server
    urllib.request.urlopen(  # noqa: S310 - loopback moto server
        urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST"), timeout=10
    ).read()


# --- A real Celery worker ---------------------------------------------------------------


def broker_url() -> str:
    return os.environ.get("CELERY_BROKER_URL", "memory://")


@pytest.fixture(scope="session")
def celery_worker_session() -> Iterator[Any]:
    """A real Celery worker consuming from the configured broker (Redis in CI)."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    url = broker_url()
    if url.startswith("redis://"):
        import redis

        try:
            redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        except redis.RedisError as exc:
            need(False, f"Redis at {url} is not reachable: {exc}")
    app.conf.broker_url = url
    app.conf.task_always_eager = False
    with start_worker(
        app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=30
    ) as worker:
        WORKER_STARTED.append(worker)
        yield worker
    WORKER_STARTED.clear()


# The session's worker, once a test started it: it keeps consuming for the later tests of
# this process, including those that queue work without asking for it (`settle` runs runs
# here, but the worker may take one first).
WORKER_STARTED: list[Any] = []


def _commits(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("django_db")
    names = getattr(item, "fixturenames", ())
    # live_server asks for transactional_db dynamically, so it is not among the names.
    return bool({"transactional_db", "live_server"} & set(names)) or bool(
        marker and marker.kwargs.get("transaction")
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Before a test that committed its data is flushed, the session's worker (when one was
    started) finishes what the test queued, whether or not the test asked for the worker:
    a task still running deadlocks with the flush's TRUNCATE."""
    if WORKER_STARTED and _commits(item):
        wait_until_worker_idle(quiet=0.1)


def wait_until_worker_idle(timeout: float = 30, quiet: float = 0.3) -> None:
    """Until the in-process worker has held no task for `quiet` seconds (a task may queue the
    next one as it ends). A task still running when the test database is flushed either
    deadlocks with the flush's TRUNCATE, leaving the rows for the next test, or writes into
    the next test."""
    from celery.worker import state

    deadline = time.monotonic() + timeout
    idle_since: float | None = None
    while time.monotonic() < deadline:
        now = time.monotonic()
        if state.active_requests or state.reserved_requests:
            idle_since = None
        elif idle_since is None:
            idle_since = now
        elif now - idle_since >= quiet:
            return
        time.sleep(0.05)


def _heartbeat_steps() -> list[tuple[Any, Any]]:
    """The heartbeat bootsteps of the session's worker (idp.ops.heartbeats), with their
    consumer."""
    from idp.ops.heartbeats import HeartbeatStep

    return [
        (step, worker.consumer)
        for worker in WORKER_STARTED
        for step in worker.consumer.steps
        if isinstance(step, HeartbeatStep)
    ]


@pytest.fixture
def no_worker_heartbeat() -> Iterator[None]:
    """No heartbeat from the session's worker during the test (an earlier test of this
    process may have started it): its heartbeat stops, its row goes, and it starts again
    after the test."""
    stopped = [(step, consumer) for step, consumer in _heartbeat_steps() if step.beater]
    for step, consumer in stopped:
        step.shutdown(consumer)
    yield
    for step, consumer in stopped:
        step.start(consumer)


@pytest.fixture
def worker_heartbeat_now(celery_worker: Any) -> None:
    """The session's worker writes its heartbeat now (its heartbeat restarts: a worker
    beats as it starts), instead of at its next interval (hourly on SQLite)."""
    for step, consumer in _heartbeat_steps():
        step.shutdown(consumer)
        step.start(consumer)


@pytest.fixture
def celery_worker(celery_worker_session: Any, transactional_db: None) -> Iterator[Any]:
    """Use with tests whose work is done by the worker: data is committed, not rolled back.
    The test's tasks are done before its data is flushed."""
    yield celery_worker_session
    wait_until_worker_idle()
