"""PostgreSQL drops the worker's connections mid-apply (pg_terminate_backend): the worker's
heartbeat, log and result writes retry on a new connection (IDP_DB_RETRY_SECONDS), so the
apply completes, its log whole, its lock freed, and no retry is needed."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from provisioning.choices import ResourceStatus, RunStatus
from provisioning.models import ResourceLock, Run
from tests.provisioning.engine.conftest import log_of, register_module, request_module
from tests.provisioning.engine.test_runs import wait_for
from tests.provisioning.engine.test_worker_loss import start_worker, wait_for_sleeping_apply

from .conftest import stop_worker

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(240)]


def terminate_other_backends() -> int:
    """Drop every other connection to the test database, as a failover or an admin would."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_database_connection_dropped_mid_apply(
    alice, teams, envs, state, settings, tmp_path, redis_server, producer_on, monkeypatch
):
    if connection.vendor != "postgresql":  # CI runs PostgreSQL; SQLite is not a fault here
        pytest.skip("pg_terminate_backend needs PostgreSQL")
    register_module("tf_slow")
    monkeypatch.setenv("CELERY_BROKER_URL", redis_server.url)
    producer_on(redis_server.url)
    settings.IDP_RUN_QUEUE = f"faults-pg-{uuid.uuid4().hex[:8]}"
    worker = start_worker(settings.IDP_RUN_QUEUE, state, tmp_path)
    try:
        resource = request_module(
            alice,
            teams["payments"],
            template="tf-slow",
            name="dropped",
            parameters={"delay": 4, "label": "kept"},
        )
        apply = wait_for_sleeping_apply(resource, 4, tmp_path / "worker.log")
        assert terminate_other_backends() >= 1
        # The worker notices at its next heartbeat, reconnects and carries on.
        wait_for(
            lambda: Run.objects.get(pk=apply.pk).status != RunStatus.RUNNING,
            "the run to end after its connection was dropped",
            timeout=90,
        )
    finally:
        stop_worker(worker)

    apply.refresh_from_db()
    resource.refresh_from_db()
    assert apply.status == RunStatus.SUCCEEDED, apply.error
    assert resource.status == ResourceStatus.PROVISIONED and resource.outputs["label"] == "kept"
    assert not ResourceLock.objects.filter(resource=resource).exists()
    # The log kept what Terraform printed before the drop and after it.
    text = log_of(apply)
    assert "sleep 4" in text and "Apply complete" in text, text[-2000:]
    assert "database connection lost" not in text
