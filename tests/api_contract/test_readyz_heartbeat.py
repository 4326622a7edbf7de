"""/readyz reads the workers' heartbeats (a row each, written by every worker) instead of
pinging them over the broker: ready with a fresh heartbeat, 503 once the last one is older
than IDP_WORKER_HEARTBEAT_STALE_SECONDS, one query for it and no round trip to a worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from idp.models import WorkerHeartbeat
from idp.ops import checks, heartbeats
from tests.helpers import wait_for


@pytest.fixture
def workers_required(settings, monkeypatch):
    settings.IDP_READINESS_REQUIRED = ["database", "workers"]
    settings.IDP_READINESS_CACHE_SECONDS = 0
    settings.IDP_WORKER_HEARTBEAT_STALE_SECONDS = 30

    def no_round_trip(*args, **kwargs):
        raise AssertionError("readiness must not ask the workers over the broker")

    control = checks._celery_app().control
    monkeypatch.setattr(control, "ping", no_round_trip)
    monkeypatch.setattr(control, "inspect", no_round_trip)
    checks.forget()
    yield
    checks.forget()


def workers_check(client):
    response = client.get("/readyz")
    return response, response.json()["checks"]["workers"]


def test_ready_with_a_fresh_heartbeat_in_one_query(
    client, db, workers_required, no_worker_heartbeat
):
    heartbeats.beat("celery@host-a", timezone.now() - timedelta(seconds=5))
    with CaptureQueriesContext(connection) as queries:
        assert checks.check_workers().startswith("1 worker(s), last heartbeat 5 s ago")
    assert len(queries) == 1, [q["sql"] for q in queries]
    response, workers = workers_check(client)
    assert response.status_code == 200, response.content
    assert workers["status"] == "ok" and workers["required"] is True


def test_503_when_the_last_heartbeat_is_stale(client, db, workers_required, no_worker_heartbeat):
    heartbeats.beat("celery@host-a", timezone.now() - timedelta(seconds=31))
    response, workers = workers_check(client)
    assert response.status_code == 503
    assert response.json()["failing"] == ["workers"]
    assert workers["detail"] == "RuntimeError: no worker heartbeat in the last 30 s"
    # A worker beating again makes it ready at once (the same row, updated).
    heartbeats.beat("celery@host-a")
    assert WorkerHeartbeat.objects.count() == 1
    assert workers_check(client)[0].status_code == 200


def test_503_without_any_worker_and_after_a_clean_stop(
    client, db, workers_required, no_worker_heartbeat
):
    assert workers_check(client)[0].status_code == 503
    heartbeats.beat("celery@host-a")
    heartbeats.forget("celery@host-a")
    assert workers_check(client)[0].status_code == 503


def test_the_status_counts_workers_from_heartbeats(
    api_as, alice, workers_required, no_worker_heartbeat
):
    heartbeats.beat("celery@host-a")
    heartbeats.beat("celery@host-b", timezone.now() - timedelta(minutes=5))  # gone
    assert api_as(alice).get("/api/v1/status/").json()["workers"] == 1


def test_a_running_worker_writes_its_heartbeat(
    celery_worker, worker_heartbeat_now, client, workers_required
):
    # The test's flush removed the row; the worker writes it again as its heartbeat starts.
    wait_for(lambda: heartbeats.live_workers(), "the worker's heartbeat", timeout=15)
    assert workers_check(client)[0].status_code == 200


def test_rows_of_workers_gone_for_a_day_are_pruned(db, no_worker_heartbeat):
    now = timezone.now()
    heartbeats.beat("celery@gone", now - timedelta(days=1, minutes=1))
    heartbeats.beat("celery@recent", now - timedelta(hours=23))
    assert heartbeats.prune(now) == 1
    assert list(WorkerHeartbeat.objects.values_list("hostname", flat=True)) == ["celery@recent"]
