"""/readyz, /api/v1/status/ and /metrics against the real database, broker and moto."""

from __future__ import annotations

import boto3
import pytest
from prometheus_client.parser import text_string_to_metric_families

from idp.ops import checks, heartbeats
from tests.helpers import wait_for
from tests.utils import assert_error, assert_ok


def test_healthz_and_readyz_name_every_check(client, db, settings):
    assert client.get("/healthz").json() == {"status": "ok"}
    settings.IDP_READINESS_REQUIRED = ["database", "broker"]
    settings.IDP_READINESS_TIMEOUT = 0.3
    response = client.get("/readyz")
    body = response.json()
    assert set(body["checks"]) == {"database", "broker", "workers", "state_bucket"}
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["broker"]["status"] == "ok"
    assert body["checks"]["workers"]["required"] is False
    assert response.status_code == 200 and body["status"] == "ok"


def test_readyz_is_503_when_a_required_check_fails(client, db, settings, aws):
    settings.IDP_READINESS_REQUIRED = ["database", "state_bucket"]
    settings.IDP_READINESS_TIMEOUT = 2
    settings.IDP_STATE_BUCKET = "idp-readyz-state"
    response = client.get("/readyz")
    assert response.status_code == 503
    bucket = response.json()["checks"]["state_bucket"]
    assert bucket == {"status": "error", "required": True, "detail": bucket["detail"]}
    assert "ClientError" in bucket["detail"]

    boto3.client("s3", endpoint_url=aws, region_name="eu-west-1").create_bucket(
        Bucket="idp-readyz-state",
        CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
    )
    checks.forget()  # a process keeps its answer for a moment (IDP_READINESS_CACHE_SECONDS)
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"]["state_bucket"]["status"] == "ok"


def test_readyz_reports_a_broker_that_is_down(client, db, settings):
    settings.IDP_READINESS_TIMEOUT = 0.3
    # Nothing listens on port 9 of loopback: connecting fails at once.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    broker = response.json()["checks"]["broker"]
    assert broker["status"] == "error" and broker["required"] is True
    assert broker["detail"]  # the reason, in one line


def test_readyz_sees_a_live_worker(client, celery_worker, worker_heartbeat_now, settings):
    settings.IDP_READINESS_REQUIRED = ["database", "broker", "workers"]
    settings.IDP_READINESS_TIMEOUT = 2
    # Its heartbeat row (the test database was flushed before) is written as it restarts.
    wait_for(heartbeats.live_workers, "the worker's heartbeat", timeout=15)
    checks.forget()
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"]["workers"]["status"] == "ok"


def test_status_counts_runs_of_the_last_hour(api_as, alice, make_run, settings):
    settings.IDP_READINESS_TIMEOUT = 0.3
    make_run("plan", "running")
    make_run("apply", "queued")
    make_run("apply", "failed", seconds=5, ago=60)
    make_run("apply", "failed", seconds=5, ago=7200)  # more than an hour ago: not counted
    last = make_run("apply", "succeeded", seconds=30, ago=10)
    make_run("plan", "succeeded", seconds=3, ago=3000)
    body = assert_ok(api_as(alice).get("/api/v1/status/"))
    assert body["runs"] == {
        "running": 1,
        "queued": 1,
        "failed_last_hour": 1,
        "succeeded_last_hour": 2,
    }
    assert body["last_successful_run"]["id"] == last.pk
    assert body["last_successful_run"]["kind"] == "apply"
    assert body["queue_depth"] is None or isinstance(body["queue_depth"], int)


def test_status_needs_sign_in(client, db):
    assert_error(client.get("/api/v1/status/"), 401)


def _families(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


def _value(family, default=None, **labels) -> float:
    for sample in family.samples:
        matches = all(sample.labels.get(k) == v for k, v in labels.items())
        if matches and not sample.name.endswith("_created"):
            return sample.value
    if default is not None:
        return default
    raise AssertionError(f"no sample {labels} in {family.samples}")


def test_metrics_count_requests_and_read_runs_from_the_database(client, make_run, settings):
    settings.IDP_METRICS_TOKEN = ""
    make_run("apply", "succeeded", seconds=4)
    make_run("apply", "succeeded", seconds=45)
    make_run("apply", "failed", seconds=700)
    make_run("plan", "succeeded", seconds=2)
    make_run("plan", "queued")
    first = _families(client.get("/metrics").content.decode())
    before = _value(first["idp_http_requests"], default=0, method="GET", status="404")
    client.get("/no-such-page-for-metrics")
    families = _families(client.get("/metrics").content.decode())

    assert _value(families["idp_http_requests"], method="GET", status="404") == before + 1
    runs = families["idp_runs"]
    assert _value(runs, kind="apply", status="succeeded") == 2
    assert _value(runs, kind="apply", status="failed") == 1
    assert _value(runs, kind="plan", status="queued") == 1

    durations = {
        (s.labels.get("kind"), s.labels.get("le"), s.name): s.value
        for s in families["idp_run_duration_seconds"].samples
    }
    assert durations[("apply", "5.0", "idp_run_duration_seconds_bucket")] == 1
    assert durations[("apply", "60.0", "idp_run_duration_seconds_bucket")] == 2
    assert durations[("apply", "+Inf", "idp_run_duration_seconds_bucket")] == 3
    assert durations[("apply", None, "idp_run_duration_seconds_count")] == 3
    assert durations[("apply", None, "idp_run_duration_seconds_sum")] == pytest.approx(749)
    assert "idp_queue_depth" in families
    assert "idp_http_request_duration_seconds" in families


def test_metrics_can_require_a_scrape_token(client, db, settings):
    settings.IDP_METRICS_TOKEN = "scrape-secret"
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 401
    right = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret")
    assert right.status_code == 200
    assert b"idp_http_requests_total" in right.content
