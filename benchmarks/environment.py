"""The benchmark's own database (`idp_bench`) and Redis db, set up before Django starts."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get(
    "IDP_BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
DB_NAME = os.environ.get("IDP_BENCH_DB", "idp_bench")
BROKER_URL = os.environ.get("IDP_BENCH_BROKER_URL", "redis://127.0.0.1:6379/8")
CACHE_URL = os.environ.get("IDP_BENCH_CACHE_URL", "redis://127.0.0.1:6379/9")


def database_url() -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME


def configure() -> dict[str, str]:
    """Environment for this process and its children (gunicorn, celery, locust)."""
    values = {
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": BROKER_URL,
        # Shared cache as in production (docker-compose.yml): grants, throttles, dashboards.
        "IDP_CACHE_URL": CACHE_URL,
        "IDP_SSL_REDIRECT": "0",
        # The API throttle would otherwise cap the load generator, not the server.
        "IDP_API_RATE": "100000000/minute",
        "IDP_LOG_LEVEL": "WARNING",
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "eu-west-1"),
    }
    if len(os.environ.get("IDP_SECRET_KEY", "")) < 50:
        values["IDP_SECRET_KEY"] = secrets.token_urlsafe(48)
    os.environ.update(values)
    return values


def _admin_sql(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


def database_exists() -> bool:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
    return row is not None


def postgresql_version() -> str | None:
    """The server's version (the benchmark's numbers depend on it), or None when it is down."""
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=10) as conn:
            row = conn.execute("SHOW server_version").fetchone()
    except psycopg.Error:
        return None
    return str(row[0]) if row else None


def recreate_database() -> None:
    """Drop and create the benchmark's own database (never anyone else's)."""
    if not DB_NAME.startswith("idp_bench"):
        raise SystemExit(f"refusing to drop {DB_NAME!r}: the benchmark only owns idp_bench*")
    _admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    _admin_sql(f'CREATE DATABASE "{DB_NAME}"')


def migrate() -> None:
    """Migrate in a child process so this one's connections stay fresh."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=REPO, check=True
    )
