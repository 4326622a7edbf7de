"""A burst of requests for one team and service while a worker finishes plans of the same
team: every POST answers 201, none deadlocks, none is a 5xx.

PostgreSQL only (SQLite serialises writers, so it cannot deadlock): the request's commit
checks its foreign keys to the team, environment and template rows (FOR KEY SHARE) while
the worker locks its resource; a worker that locked those parent rows too (a FOR UPDATE
over a join) deadlocked with the request."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.db import connection, connections

from idp import services
from idp.api.exceptions import database_unavailable
from idp.db import ATTEMPTS, Contention, is_contention, retry_on_deadlock
from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.engine import claim, outcomes
from provisioning.models import Resource, Run
from tests.utils import need

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

REQUESTS = 50
WORKERS = 2  # as the benchmark's second section
PARALLEL = REQUESTS  # all at once: one server thread and one connection each

PLAN = {
    "format_version": "1.2",
    "resource_changes": [
        {
            "address": "terraform_data.this",
            "type": "terraform_data",
            "name": "this",
            "change": {"actions": ["create"], "before": None, "after": {"input": "x"}},
        }
    ],
}


class _BurstServer(ThreadedWSGIServer):
    # Django's live server keeps a backlog of 10 and resets the rest of a burst.
    request_queue_size = 128


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def server_url(transactional_db: None) -> Iterator[str]:
    """The platform's WSGI app on a threaded loopback server: one thread and one database
    connection per request, as under gunicorn's threads."""
    httpd = _BurstServer(("127.0.0.1", 0), _QuietHandler)
    httpd.set_app(WSGIHandler())
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


def deadlocks() -> int:
    """Deadlocks PostgreSQL detected in this database so far (its statistics, which lag a
    little: read after the work)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


def free_connections() -> int:
    """Connections the PostgreSQL server would still accept (it is shared with other runs)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('max_connections')::int"
            " - current_setting('superuser_reserved_connections')::int"
            " - (SELECT count(*) FROM pg_stat_activity)"
        )
        return int(cursor.fetchone()[0])


class PlanFinisher(threading.Thread):
    """A worker's database work for plans of the team: take the run, store the plan (which
    locks the resource and queues the apply in dev), over and over until told to stop."""

    def __init__(self, team_id: int) -> None:
        super().__init__(daemon=True)
        self.team_id = team_id
        self.stop = threading.Event()
        self.finished = 0
        self.errors: list[str] = []

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                queued = list(
                    Run.objects.filter(
                        resource__team_id=self.team_id, kind=RunKind.PLAN, status=RunStatus.QUEUED
                    ).values_list("pk", flat=True)[:10]
                )
                if not queued:
                    time.sleep(0.01)
                for run_id in queued:
                    try:
                        run = claim.acquire(run_id, "burst-worker")
                        if run is not None:
                            outcomes.finish_plan(run, PLAN, f"plan-{run_id}".encode())
                            self.finished += 1
                    except Exception as exc:  # noqa: BLE001 - reported by the test
                        self.errors.append(f"run {run_id}: {type(exc).__name__}: {exc}")
        finally:
            connections.close_all()


def test_fifty_parallel_requests_while_plans_finish(
    server_url: str,
    alice: Any,
    make_service: Any,
    teams: Any,
    template: Any,
    envs: Any,
    settings: Any,
) -> None:
    need(connection.vendor == "postgresql", "deadlocks need PostgreSQL (DATABASE_URL)")
    need(
        free_connections() >= PARALLEL + WORKERS + 5,
        f"the PostgreSQL server has fewer than {PARALLEL + WORKERS + 5} connections free",
    )
    # The plans are this test's to finish: a session worker left by an earlier test must not
    # take them from a queue nobody else reads.
    settings.IDP_RUN_QUEUE = "burst-test-only"
    team = teams["payments"]
    make_service(team, "checkout")
    _, token = services.create_api_token(alice, name="burst")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server_url, headers=headers, timeout=60) as warm:
        assert warm.get("/api/v1/resources/").status_code == 200
    before = deadlocks()
    workers = [PlanFinisher(team.pk) for _ in range(WORKERS)]
    for worker in workers:
        worker.start()
    start = threading.Barrier(PARALLEL)

    def post(index: int) -> tuple[int, str]:
        with httpx.Client(base_url=server_url, headers=headers, timeout=120) as client:
            if index < PARALLEL:
                start.wait()
            answer = client.post(
                "/api/v1/resources/",
                json={
                    "template": template.slug,
                    "team": team.slug,
                    "service": "checkout",
                    "environment": "dev",
                    "name": f"burst-{index}",
                    "parameters": {"message": f"burst {index}"},
                },
            )
        return answer.status_code, answer.text[:300]

    try:
        with ThreadPoolExecutor(PARALLEL) as pool:
            answers = list(pool.map(post, range(REQUESTS)))
        # Let the worker finish what the burst queued, still racing nothing but itself.
        deadline = time.monotonic() + 60
        while (
            time.monotonic() < deadline
            and Run.objects.filter(
                resource__team=team, kind=RunKind.PLAN, status=RunStatus.QUEUED
            ).exists()
        ):
            time.sleep(0.05)
    finally:
        for worker in workers:
            worker.stop.set()
        for worker in workers:
            worker.join(30)
    time.sleep(0.6)  # the statistics collector's delay
    assert deadlocks() == before, "PostgreSQL broke a deadlock (the worker retried it)"
    failed = [(code, text) for code, text in answers if code != 201]
    assert failed == [], failed
    assert [e for w in workers for e in w.errors] == []
    made = Resource.objects.filter(team=team, name__startswith="burst-")
    assert made.count() == REQUESTS
    assert set(made.values_list("service__slug", flat=True)) == {"checkout"}
    # Every plan the burst queued was stored by the worker: dev applies without approval.
    assert sum(w.finished for w in workers) == REQUESTS
    assert set(made.values_list("status", flat=True)) == {ResourceStatus.APPLYING}


# --- the shape of every row lock on the request, plan, approval and cancel paths ------------

PARENTS = ('"idp_team"', '"idp_environment"', '"catalog_template"', '"catalog_templateversion"')


def _locking(sql: list[str]) -> list[str]:
    return [q for q in sql if " FOR UPDATE" in q or " FOR NO KEY UPDATE" in q]


def _parent_locks(sql: list[str]) -> list[str]:
    """Locking statements that would lock a team, environment or template row: FOR UPDATE
    over a join without `OF` (which locks every joined row), or an `OF` naming a parent."""
    bad = []
    for q in _locking(sql):
        clause = q[q.rindex(" FOR ") :]
        if (" JOIN " in q and " OF " not in clause) or any(p in clause for p in PARENTS):
            bad.append(q)
    return bad


@pytest.mark.django_db
def test_requests_plans_approvals_and_cancels_lock_no_parent_row(
    api_as: Any, alice: Any, bob: Any, template: Any, envs: Any, teams: Any
) -> None:
    """The deadlock's cause, pinned: no path a request or a worker takes while holding a
    resource locks the team, environment or template rows its commit checks."""
    need(connection.vendor == "postgresql", "row locks are PostgreSQL's (DATABASE_URL)")
    from django.test.utils import CaptureQueriesContext

    from provisioning import actions

    def post(name: str, env: str) -> Resource:
        answer = api_as(alice).post(
            "/api/v1/resources/",
            {"template": template.slug, "team": "payments", "environment": env, "name": name,
             "parameters": {"message": name}},
            format="json",
        )  # fmt: skip
        assert answer.status_code == 201, answer.content
        return Resource.objects.get(pk=answer.json()["id"])

    def finish(resource: Resource) -> None:
        run = Run.objects.get(resource=resource, kind=RunKind.PLAN, status=RunStatus.QUEUED)
        run = claim.acquire(run.pk, "test-worker")
        assert run is not None
        outcomes.finish_plan(run, PLAN, f"plan-{run.pk}".encode())

    with CaptureQueriesContext(connection) as ctx:
        dev = post("locks-dev", "dev")
        finish(dev)
        apply = Run.objects.get(resource=dev, kind=RunKind.APPLY)
        actions.cancel_run(apply, actor=alice)
        prod = post("locks-prod", "prod")
        finish(prod)
        prod.refresh_from_db()
        assert prod.status == ResourceStatus.AWAITING_APPROVAL
        actions.approve(prod, actor=bob)
        other = post("locks-other", "prod")
        finish(other)
        actions.reject(other, actor=bob, reason="not now")
    sql = [q["sql"] for q in ctx.captured_queries]
    assert len(_locking(sql)) >= 5, "the paths above take row locks"
    assert _parent_locks(sql) == []


# --- a lost race is retried, and never called an outage ------------------------------------


def _deadlock(teams: Any, *, retried: bool) -> tuple[dict[str, int], list[BaseException]]:
    """Two transactions lock two team rows in opposite orders at the same moment: PostgreSQL
    aborts one of them with a deadlock. Returns how often each ran and what they raised."""
    from django.db import transaction

    from idp.models import Team

    first, second = teams["payments"].pk, teams["search"].pk
    barrier = threading.Barrier(2)
    runs = {"forward": 0, "backward": 0}
    raised: list[BaseException] = []

    def swap(name: str, one: int, two: int) -> None:
        runs[name] += 1
        with transaction.atomic():
            Team.objects.select_for_update().get(pk=one)
            if runs[name] == 1:
                barrier.wait(timeout=10)  # both hold their first row
            Team.objects.select_for_update().get(pk=two)

    body = retry_on_deadlock(swap) if retried else swap

    def side(name: str, one: int, two: int) -> None:
        try:
            body(name, one, two)
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            raised.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=side, args=("forward", first, second)),
        threading.Thread(target=side, args=("backward", second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return runs, raised


@pytest.mark.django_db(transaction=True)
def test_a_deadlock_is_run_again_and_both_sides_finish(teams: Any) -> None:
    need(connection.vendor == "postgresql", "deadlocks need PostgreSQL (DATABASE_URL)")
    runs, raised = _deadlock(teams, retried=True)
    assert raised == []
    assert sorted(runs.values()) == [1, 2]  # the side PostgreSQL aborted ran once more


@pytest.mark.django_db(transaction=True)
def test_a_race_lost_every_time_is_a_409_that_says_so(teams: Any, rf: Any) -> None:
    need(connection.vendor == "postgresql", "deadlocks need PostgreSQL (DATABASE_URL)")
    _, raised = _deadlock(teams, retried=False)
    [deadlock] = raised
    assert is_contention(deadlock), deadlock
    calls = []

    @retry_on_deadlock
    def always_loses() -> None:
        calls.append(1)
        raise deadlock

    with pytest.raises(Contention) as lost:
        always_loses()
    assert len(calls) == ATTEMPTS and lost.value.status == 409
    for path in ("/api/v1/resources/", "/resources/"):
        answer = database_unavailable(rf.post(path), deadlock)
        assert answer.status_code == 409 and answer["Retry-After"] == "1"
        assert b"collided with concurrent changes" in answer.content
        assert b"unavailable" not in answer.content


def test_sqlite_busy_is_contention_and_an_outage_is_not() -> None:
    """SQLite's "database is locked" is a busy writer (409); a refused connection is a
    database that is down (503, as before)."""
    from django.db import OperationalError

    assert is_contention(OperationalError("database is locked"))
    assert not is_contention(OperationalError("connection refused"))
    assert not is_contention(ValueError("database is locked"))
