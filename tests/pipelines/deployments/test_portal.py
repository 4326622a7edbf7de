"""The portal: the service page's deployment matrix (polled), a deployment's page with its
log and the approval buttons, and another team's deployment is 404."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.choices import DeploymentStatus
from pipelines.deployments import actions
from pipelines.models import Deployment

from .conftest import World

pytestmark = pytest.mark.django_db


def succeeded(world: World, env: str, version: str, who: Any) -> Deployment:
    """A deployment row as the worker leaves it (the worker's part is tested elsewhere)."""
    deployment = actions.request_deployment(
        world.service, world.envs[env], artifact="a.zip", commit="c0ffee12", version=version,
        actor=who,
    ).deployment  # fmt: skip
    from django.utils import timezone

    Deployment.objects.filter(pk=deployment.pk).update(
        status=DeploymentStatus.SUCCEEDED,
        finished_at=timezone.now(),
        artifact_digest=f"sha256:{version}",
    )
    deployment.refresh_from_db()
    return deployment


def test_matrix_shows_what_runs_where_and_polls(world: World, alice: Any, client_as: Any) -> None:
    succeeded(world, "dev", "1.0.0", alice)
    succeeded(world, "dev", "1.1.0", alice)
    succeeded(world, "staging", "1.0.0", alice)
    client = client_as(alice)
    page = client.get("/catalog/services/payments-api/").content.decode()
    assert 'id="deployment-matrix"' in page
    assert 'hx-trigger="every 15s"' in page
    partial = client.get("/catalog/services/payments-api/deployments/").content.decode()
    dev = partial.split('data-environment="dev"')[1].split("</tr>")[0]
    assert '<strong class="running-version">1.1.0</strong>' in dev
    assert "alice" in dev and "c0ffee12" in dev
    assert ">1.0.0</a>" in dev  # the history links
    staging = partial.split('data-environment="staging"')[1].split("</tr>")[0]
    assert '<strong class="running-version">1.0.0</strong>' in staging
    prod = partial.split('data-environment="prod"')[1].split("</tr>")[0]
    assert "nothing deployed yet" in prod
    # One under way: polled every 2 s.
    actions.request_deployment(
        world.service, world.envs["prod"], artifact="a.zip", commit="c0ffee12", actor=alice
    )
    partial = client.get("/catalog/services/payments-api/deployments/").content.decode()
    assert 'hx-trigger="every 2s"' in partial
    assert "Awaiting approval" in partial


def test_deployment_page_log_and_decisions(
    world: World, alice: Any, bob: Any, carol: Any, client_as: Any
) -> None:
    pending = actions.request_deployment(
        world.service, world.envs["prod"], artifact="a.zip", commit="c0ffee12", actor=bob
    ).deployment
    page = client_as(bob).get(f"/pipelines/deployments/{pending.pk}/").content.decode()
    assert "Awaiting approval" in page and "four eyes" in page
    assert 'id="log-poller"' in page
    log = client_as(bob).get(f"/pipelines/deployments/{pending.pk}/log/?offset=0")
    assert log.status_code == 200 and 'id="log-poller"' in log.content.decode()
    assert client_as(carol).get(f"/pipelines/deployments/{pending.pk}/").status_code == 404
    assert client_as(carol).get("/catalog/services/payments-api/deployments/").status_code == 404
    rejected = client_as(carol).post(
        f"/pipelines/deployments/{pending.pk}/reject/", {"reason": "x"}
    )
    assert rejected.status_code == 404
    response = client_as(alice).post(f"/pipelines/deployments/{pending.pk}/approve/")
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == DeploymentStatus.AWAITING_APPROVAL  # alice, a member, may not


def test_rollback_and_promote_buttons(world: World, alice: Any, client_as: Any) -> None:
    succeeded(world, "dev", "1.0.0", alice)
    current = succeeded(world, "dev", "1.1.0", alice)
    client = client_as(alice)
    page = client.get(f"/pipelines/deployments/{current.pk}/").content.decode()
    assert "Roll back to previous" in page and "Promote 1.1.0" in page
    response = client.post(f"/pipelines/deployments/{current.pk}/rollback/")
    back = Deployment.objects.get(rollback_of=current)
    assert response.url == f"/pipelines/deployments/{back.pk}/"
    assert back.version == "1.0.0" and back.status == DeploymentStatus.QUEUED
    client.post(f"/pipelines/deployments/{current.pk}/promote/", {"environment": "staging"})
    promoted = Deployment.objects.get(promoted_from=current)
    assert promoted.environment.slug == "staging" and promoted.artifact_digest == "sha256:1.1.0"
