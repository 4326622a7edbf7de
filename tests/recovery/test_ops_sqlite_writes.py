"""The portal on a file SQLite database (as `make run` has it) takes concurrent writes:
100 resource requests one after another, then 20 at once, and not one answers 5xx
("database is locked" was a 500 before WAL, a busy timeout and immediate transactions)."""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.utils import free_port

from .ops_procs import MANAGE, http, migrated_sqlite, processes, wait_for_http

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(240)]


def request(n: int) -> dict[str, object]:
    return {
        "template": "example-config",
        "team": "payments",
        "environment": "dev",
        "name": f"load-{n}",
        "parameters": {"message": f"hello {n}", "replicas": 1 + n % 3},
    }


def test_concurrent_writes_on_sqlite_never_answer_5xx(tmp_path: Path, moto_server: str) -> None:
    with processes(tmp_path) as procs:
        broker = tmp_path / "broker"
        for folder in ("out", "processed", "control"):
            (broker / folder).mkdir(parents=True)
        database = migrated_sqlite(procs, tmp_path / "idp.sqlite3")
        env = procs.env(
            DATABASE_URL=database,
            CELERY_BROKER_URL="filesystem://",  # nobody consumes: the plans stay queued
            IDP_BROKER_DIR=str(broker),
            AWS_ENDPOINT_URL=moto_server,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="eu-west-1",
            IDP_API_RATE="100000/minute",
        )
        procs.manage("seed_demo", "--credentials-file", str(tmp_path / "creds.json"), env=env)
        procs.manage("sync_templates", "example-config", env=env)
        token = (
            procs.manage("create_api_token", "alice", "--scope", "read,write", env=env)
            .stdout.strip()
            .splitlines()[-1]
        )
        port = free_port()
        log = tmp_path / "web.log"
        web = procs.start(
            [sys.executable, MANAGE, "runserver", f"127.0.0.1:{port}", "--noreload"], env, log
        )
        url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{url}/healthz", web, log)

        def post(n: int) -> tuple[int, bytes]:
            status, _, body = http("POST", f"{url}/api/v1/resources/", request(n), token)
            return status, body

        answers = [post(n) for n in range(100)]
        with ThreadPoolExecutor(max_workers=20) as pool:
            answers += list(pool.map(post, range(100, 120)))

    errors = [(status, body[:300]) for status, body in answers if status >= 500]
    assert not errors, f"{len(errors)} of 120 answered 5xx: {errors[:3]}\n{log.read_text()[-3000:]}"
    assert [status for status, _ in answers] == [201] * 120, [
        (status, body[:200]) for status, body in answers if status != 201
    ][:3]
    assert len({json.loads(body)["id"] for _, body in answers}) == 120
