"""A Lambda deployment end to end on a real Celery worker against the local AWS API: a
version is published from the artifact, the alias `live` moves to it, and the function's
code read back is the artifact's."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from pipelines.choices import DeploymentStatus
from pipelines.deployments import actions
from pipelines.models import Deployment
from provisioning.choices import ResourceStatus

from ...helpers import wait_for_status
from .conftest import World, zip_of

pytestmark = pytest.mark.django_db(transaction=True)


def code_sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def deploy(
    world: World, who: Any, text: str, version: str, env: str = "dev"
) -> tuple[Deployment, bytes]:
    data = zip_of({"app.py": f"def handler(e, c):\n    return {text!r}\n"})
    ref = world.upload(f"payments-api/{version}.zip", data)
    requested = actions.request_deployment(
        world.service,
        world.envs[env],
        artifact=ref,
        commit=hashlib.sha1(version.encode()).hexdigest(),  # noqa: S324 - a commit id
        version=version,
        actor=who,
    )
    return requested.deployment, data


def test_lambda_deployment_publishes_moves_alias_and_reads_back(
    world: World, alice: Any, celery_worker: Any
) -> None:
    first, data1 = deploy(world, alice, "v1", "1.0.0")
    first = wait_for_status(first, DeploymentStatus.SUCCEEDED, DeploymentStatus.FAILED, timeout=60)
    assert first.status == DeploymentStatus.SUCCEEDED, first.error
    lam = world.lambda_client()
    alias = lam.get_alias(FunctionName=world.lambdas["dev"], Name="live")
    assert alias["FunctionVersion"] == first.outcome["published_version"]
    live = lam.get_function(FunctionName=world.lambdas["dev"], Qualifier="live")
    assert live["Configuration"]["CodeSha256"] == code_sha(data1)
    assert first.artifact_digest == "sha256:" + hashlib.sha256(data1).hexdigest()
    assert first.triggered_by == alice
    assert first.finished_at is not None and first.attempts == 1

    second, data2 = deploy(world, alice, "v2", "1.1.0")
    second = wait_for_status(
        second, DeploymentStatus.SUCCEEDED, DeploymentStatus.FAILED, timeout=60
    )
    assert second.status == DeploymentStatus.SUCCEEDED, second.error
    assert second.outcome["previous_version"] == first.outcome["published_version"]
    live = lam.get_function(FunctionName=world.lambdas["dev"], Qualifier="live")
    assert live["Configuration"]["CodeSha256"] == code_sha(data2)
    log = "".join(second.log_chunks.order_by("seq").values_list("text", flat=True))
    assert f"Assuming the deploy role {world.envs['dev'].aws_role_arn}" in log
    assert "Alias live moved to version" in log
    assert "SecretAccessKey" not in log and "testing" not in log

    # Roll back: a new deployment of the last good artifact; the alias points at its code.
    back = actions.rollback(second, actor=alice).deployment
    assert back.rollback_of == second and back.version == "1.0.0"
    back = wait_for_status(back, DeploymentStatus.SUCCEEDED, DeploymentStatus.FAILED, timeout=60)
    assert back.status == DeploymentStatus.SUCCEEDED, back.error
    live = lam.get_function(FunctionName=world.lambdas["dev"], Qualifier="live")
    assert live["Configuration"]["CodeSha256"] == code_sha(data1)
    assert actions.current_deployments(world.service)[world.envs["dev"].pk] == back


def test_a_missing_artifact_fails_with_the_reason_and_moves_nothing(
    world: World, alice: Any, celery_worker: Any
) -> None:
    requested = actions.request_deployment(
        world.service,
        world.envs["dev"],
        artifact="payments-api/never-uploaded.zip",  # a key in the team's artifact bucket
        commit="abcdef1",
        actor=alice,
    )
    deployment = wait_for_status(
        requested.deployment, DeploymentStatus.FAILED, DeploymentStatus.SUCCEEDED, timeout=60
    )
    assert deployment.status == DeploymentStatus.FAILED
    assert deployment.artifact == "s3://idp-artifacts-payments/payments-api/never-uploaded.zip"
    assert "cannot be read with the deploy role" in deployment.error
    lam = world.lambda_client()
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_alias(FunctionName=world.lambdas["dev"], Name="live")


def test_a_runtime_that_is_not_live_refuses_the_deployment(world: World, alice: Any) -> None:
    binding = world.bindings["dev"]
    binding.resource.status = ResourceStatus.DESTROYED
    binding.resource.save(update_fields=["status"])
    with pytest.raises(actions.Conflict, match="not live"):
        deploy(world, alice, "v1", "1.0.0")
    assert not Deployment.objects.exists()


def test_deployments_of_one_runtime_run_one_at_a_time_in_order(
    world: World, alice: Any, celery_worker: Any
) -> None:
    """Three requested at once (the worker has two threads): each finds the alias where the
    one before it left it, so the last requested is live."""
    made = [deploy(world, alice, f"v{n}", f"3.{n}.0")[0] for n in range(3)]
    done = [
        wait_for_status(d, DeploymentStatus.SUCCEEDED, DeploymentStatus.FAILED, timeout=90)
        for d in made
    ]
    assert [d.status for d in done] == [DeploymentStatus.SUCCEEDED] * 3
    assert done[0].finished_at <= done[1].started_at
    assert done[1].finished_at <= done[2].started_at
    assert done[1].outcome["previous_version"] == done[0].outcome["published_version"]
    assert done[2].outcome["previous_version"] == done[1].outcome["published_version"]
    alias = world.lambda_client().get_alias(FunctionName=world.lambdas["dev"], Name="live")
    assert alias["FunctionVersion"] == done[2].outcome["published_version"]
