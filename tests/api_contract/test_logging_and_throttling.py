"""Structured JSON logs in production settings; per-token rate limiting with Retry-After."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from rest_framework.settings import api_settings

from idp.api.throttling import TokenRateThrottle
from tests.utils import assert_ok

REPO = Path(__file__).resolve().parents[2]

PRODUCTION_SCRIPT = """
import logging
import django
django.setup()
from django.test import Client
from idp.context import bound

with bound(run_id="4242"):
    logging.getLogger("provisioning.engine").warning("plan started")
response = Client().get("/readyz", HTTP_X_REQUEST_ID="req0123456789")
print("X-Request-ID", response["X-Request-ID"])
"""


@pytest.mark.slow
def test_production_logs_are_json_with_request_and_run_ids(tmp_path):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "IDP_SECRET_KEY": "k" * 64,
        "IDP_ALLOWED_HOSTS": "testserver",
        "IDP_SSL_REDIRECT": "0",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CELERY_BROKER_URL": "memory://",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "IDP_READINESS_TIMEOUT": "0.2",
    }
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", PRODUCTION_SCRIPT],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "X-Request-ID req0123456789" in done.stdout
    records = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    non_json = [line for line in done.stderr.splitlines() if line and not line.startswith("{")]
    assert not non_json, non_json
    run_line = next(r for r in records if r["message"] == "plan started")
    assert run_line["run_id"] == "4242" and run_line["levelname"] == "WARNING"
    request_lines = [r for r in records if r["request_id"] == "req0123456789"]
    # The failing readiness checks (workers, state bucket) log inside the request.
    assert request_lines, records
    assert all({"asctime", "levelname", "name", "message", "run_id"} <= set(r) for r in records)


@pytest.fixture
def low_rate(settings, monkeypatch):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "3/minute"},
    }
    # DRF reads the rates once at import; take them again from the overridden settings.
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", api_settings.DEFAULT_THROTTLE_RATES)
    cache.clear()
    yield
    cache.clear()


def test_rate_limit_per_token_answers_429_with_retry_after(api_as, alice, low_rate):
    client = api_as(alice)
    for _ in range(3):
        assert_ok(client.get("/api/v1/me/"))
    limited = client.get("/api/v1/me/")
    assert limited.status_code == 429
    assert "detail" in limited.json()
    retry_after = int(limited["Retry-After"])
    assert 0 < retry_after <= 60

    # Another token of the same user has its own budget.
    assert_ok(api_as(alice).get("/api/v1/me/"))
