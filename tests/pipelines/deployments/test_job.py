"""The deployment is a job of idp/jobs: the reaper takes back one whose worker died (queued
again while attempts remain, else failed with the reason in its log), and the sweeper sends
again one whose message was lost, which a real worker then deploys."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from idp.jobs import sweep
from pipelines.choices import DeploymentStatus
from pipelines.deployments import actions
from pipelines.deployments.job import DEPLOYMENT
from pipelines.models import Deployment

from ...helpers import wait_for_status
from .conftest import World, zip_of


def _running(deployment: Deployment, attempts: int) -> None:
    long_ago = timezone.now() - timedelta(hours=1)
    Deployment.objects.filter(pk=deployment.pk).update(
        status=DeploymentStatus.RUNNING,
        started_at=long_ago,
        heartbeat_at=long_ago,
        attempts=attempts,
    )


@pytest.mark.django_db
def test_a_lost_worker_is_reaped(world: World, alice: Any) -> None:
    first = actions.request_deployment(
        world.service, world.envs["dev"], artifact="a.zip", commit="abcdef12", actor=alice
    ).deployment
    _running(first, attempts=1)
    assert sweep.reap_lost(DEPLOYMENT) == 1
    first.refresh_from_db()
    assert first.status == DeploymentStatus.QUEUED
    _running(first, attempts=DEPLOYMENT.max_attempts)
    assert sweep.reap_lost(DEPLOYMENT) == 1
    first.refresh_from_db()
    assert first.status == DeploymentStatus.FAILED
    assert "was lost" in first.error
    log = "".join(first.log_chunks.values_list("text", flat=True))
    assert "was lost" in log


@pytest.mark.django_db(transaction=True)
def test_a_lost_message_is_sent_again_by_the_sweeper(
    world: World, alice: Any, celery_worker: Any
) -> None:
    ref = world.upload("payments-api/9.zip", zip_of({"app.py": "x = 9\n"}))
    # Recorded as a request would be, but its message never sent (a broker outage).
    deployment = Deployment.objects.create(
        service=world.service,
        environment=world.envs["dev"],
        runtime=world.bindings["dev"],
        kind=world.bindings["dev"].kind,
        target=world.lambdas["dev"],
        version="9",
        commit="abcdef12",
        artifact=ref,
        triggered_by=alice,
        status=DeploymentStatus.QUEUED,
        queued_at=timezone.now() - timedelta(hours=1),
    )
    assert sweep.sweep_queued(DEPLOYMENT) == 1
    done = wait_for_status(deployment, DeploymentStatus.SUCCEEDED, DeploymentStatus.FAILED)
    assert done.status == DeploymentStatus.SUCCEEDED, done.error
