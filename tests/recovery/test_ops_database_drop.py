"""PostgreSQL drops every connection (a restart, a failover, an admin): the portal's kept
connections are dead. The next requests are answered 200 (health checks replace the
connection), never 500. (What still meets a dead connection is a 503: test_ops_errors.py.)"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from tests.utils import free_port, need

from .ops_procs import fresh_postgres, http, processes, wait_for_http

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(240)]

TOKEN_SCRIPT = (
    "from django.contrib.auth import get_user_model; from idp import services; "
    "user = get_user_model().objects.create_user('ops-probe'); "
    "print(services.create_api_token(user, name='probe')[1])"
)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database of this module's own, on the server the suite uses."""
    admin_url = os.environ.get("DATABASE_URL", "")
    need(
        admin_url.startswith(("postgres://", "postgresql://")) and connection.vendor != "sqlite",
        "needs PostgreSQL (DATABASE_URL=postgres://…)",
    )
    with fresh_postgres(admin_url) as url:
        yield url


def terminate_backends(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0]) if row else 0


def test_requests_after_the_database_drops_connections_are_answered(
    tmp_path: Path, postgres_url: str, moto_server: str
) -> None:
    with processes(tmp_path) as procs:
        env = procs.env(
            DATABASE_URL=postgres_url,
            CELERY_BROKER_URL="redis://127.0.0.1:6379/14",
            AWS_ENDPOINT_URL=moto_server,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="eu-west-1",
            DJANGO_SETTINGS_MODULE="config.settings.production",
            IDP_SECRET_KEY="recovery-test-" + "k" * 60,
            IDP_SSL_REDIRECT="0",
            IDP_API_RATE="100000/minute",
        )
        procs.manage("migrate", "--no-input", env=env, timeout=300)
        token = procs.manage("shell", "-c", TOKEN_SCRIPT, env=env).stdout.strip().splitlines()[-1]
        port = free_port()
        log = tmp_path / "gunicorn.log"
        # Sync workers keep one connection each for CONN_MAX_AGE: the ones the drop kills.
        web = procs.start(
            [
                *(sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}"),
                *("-w", "2", "--access-logfile", "-"),
            ],
            env,
            log,
        )
        url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{url}/healthz", web, log)

        def me() -> tuple[int, dict[str, str], bytes]:
            return http("GET", f"{url}/api/v1/me/", token=token)

        assert all(me()[0] == 200 for _ in range(20))
        assert terminate_backends(postgres_url) >= 1
        answers = [me() for _ in range(20)]
        assert terminate_backends(postgres_url) >= 1
        answers += [me() for _ in range(20)]

    statuses = [status for status, _, _ in answers]
    failures = [(s, b[:300]) for s, _, b in answers if s != 200]
    assert statuses == [200] * 40, f"{failures[:3]}\n{log.read_text()[-3000:]}"
