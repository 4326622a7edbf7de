"""Redis stopped and started again while requests arrive: the database is the source of
truth, so every request ends `provisioned`, none lost and none done twice."""

from __future__ import annotations

import time
import uuid

import pytest
from django.db import connection

from idp.jobs.sweep import sweep_queued
from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.engine.claim import RUN_JOB
from provisioning.models import Resource, ResourceLock, Run
from tests.provisioning.engine.test_worker_loss import start_worker
from tests.utils import assert_ok

from .conftest import stop_worker

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(300)]


def request(api, name: str) -> int:
    body = assert_ok(
        api.post(
            "/api/v1/resources/",
            {
                "template": "tf-echo",
                "team": "payments",
                "environment": "dev",
                "name": name,
                "parameters": {"message": f"hello {name}"},
            },
            format="json",
        ),
        201,
    )
    return int(body["id"])


@pytest.mark.django_db(transaction=True)
def test_redis_restart_while_requests_arrive(
    api_as,
    alice,
    teams,
    envs,
    echo,
    state,
    settings,
    tmp_path,
    redis_server,
    producer_on,
    monkeypatch,
):
    if connection.vendor != "postgresql":  # CI runs PostgreSQL; SQLite is not a fault here
        pytest.skip("a worker process needs a shared database")
    monkeypatch.setenv("CELERY_BROKER_URL", redis_server.url)
    producer_on(redis_server.url)
    settings.IDP_RUN_QUEUE = f"faults-redis-{uuid.uuid4().hex[:8]}"
    worker = start_worker(settings.IDP_RUN_QUEUE, state, tmp_path)
    api = api_as(alice)
    try:
        ids = [request(api, "before-1"), request(api, "before-2")]
        redis_server.stop()
        # The broker is down: the request is still accepted, its run waits in `queued`.
        started = time.monotonic()
        ids += [request(api, "during-1"), request(api, "during-2")]
        assert time.monotonic() - started < 30  # a down broker does not hang the API
        assert all(
            Run.objects.filter(resource_id=pk, status=RunStatus.QUEUED).exists() for pk in ids[2:]
        )
        redis_server.start()  # an empty broker: every message it held is gone
        ids.append(request(api, "after-1"))

        deadline = time.monotonic() + 200
        while time.monotonic() < deadline:
            if Resource.objects.filter(pk__in=ids, status=ResourceStatus.PROVISIONED).count() == 5:
                break
            sweep_queued(RUN_JOB, grace=2)  # what the beat schedule does
            time.sleep(2)
        else:
            states = list(Run.objects.values_list("resource__name", "kind", "status", "error"))
            log = (tmp_path / "worker.log").read_text()[-3000:]
            pytest.fail(f"not every request was provisioned: {states}\n{log}")
    finally:
        stop_worker(worker)

    # None lost, none duplicated: one resource per request, one plan and one apply each.
    assert Resource.objects.filter(team=teams["payments"]).count() == 5
    for pk in ids:
        resource = Resource.objects.get(pk=pk)
        assert resource.outputs["echo"] == f"hello {resource.name}"
        kinds = sorted(resource.runs.values_list("kind", "status"))
        assert kinds == [(RunKind.APPLY, RunStatus.SUCCEEDED), (RunKind.PLAN, RunStatus.SUCCEEDED)]
    assert not ResourceLock.objects.exists()
