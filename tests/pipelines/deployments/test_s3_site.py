"""An S3 static site deployment on a real worker: the release's files under
`releases/<version>/`, then the pointer switched; a rollback only switches."""

from __future__ import annotations

import json
from typing import Any

import pytest

from catalog.models import Service
from pipelines.choices import DeploymentStatus
from pipelines.deployments import actions

from ...helpers import wait_for_status
from .conftest import SITE_BUCKET, World, client, zip_of

pytestmark = pytest.mark.django_db(transaction=True)


def pointer(world: World) -> dict[str, Any]:
    body = client("s3", world.url).get_object(Bucket=SITE_BUCKET, Key="live.json")["Body"]
    return dict(json.loads(body.read()))


def page(world: World, key: str) -> str:
    body = client("s3", world.url).get_object(Bucket=SITE_BUCKET, Key=key)["Body"]
    return str(body.read().decode())


def site(world: World, service: Service, who: Any, version: str, text: str) -> Any:
    data = zip_of({"index.html": f"<h1>{text}</h1>", "css/site.css": "h1 {}"})
    ref = world.upload(f"payments-web/{version}.zip", data)
    requested = actions.request_deployment(
        service, world.envs["dev"], artifact=ref, commit="0123abcd" * 5, version=version, actor=who
    )
    return wait_for_status(
        requested.deployment, DeploymentStatus.SUCCEEDED, DeploymentStatus.FAILED, timeout=60
    )


def test_site_is_uploaded_to_a_new_prefix_then_switched(
    world: World, site_service: Service, alice: Any, celery_worker: Any
) -> None:
    first = site(world, site_service, alice, "2026.12.1", "one")
    assert first.status == DeploymentStatus.SUCCEEDED, first.error
    assert pointer(world)["prefix"] == "releases/2026.12.1/"
    assert page(world, "releases/2026.12.1/index.html") == "<h1>one</h1>"
    head = client("s3", world.url).head_object(
        Bucket=SITE_BUCKET, Key="releases/2026.12.1/css/site.css"
    )
    assert head["ContentType"] == "text/css"

    second = site(world, site_service, alice, "2026.12.2", "two")
    assert second.status == DeploymentStatus.SUCCEEDED, second.error
    assert pointer(world)["prefix"] == "releases/2026.12.2/"
    assert second.outcome["previous_prefix"] == "releases/2026.12.1/"
    # The earlier release stays where it was: switching back needs no upload.
    assert page(world, "releases/2026.12.1/index.html") == "<h1>one</h1>"

    back = actions.rollback(second, actor=alice).deployment
    back = wait_for_status(back, DeploymentStatus.SUCCEEDED, DeploymentStatus.FAILED, timeout=60)
    assert back.status == DeploymentStatus.SUCCEEDED, back.error
    assert pointer(world)["prefix"] == "releases/2026.12.1/"
    log = "".join(back.log_chunks.order_by("seq").values_list("text", flat=True))
    assert "already uploaded with this artifact" in log


def test_a_version_is_never_overwritten_with_another_artifact(
    world: World, site_service: Service, alice: Any, celery_worker: Any
) -> None:
    assert site(world, site_service, alice, "1.0.0", "one").status == DeploymentStatus.SUCCEEDED
    again = site(world, site_service, alice, "1.0.0", "changed")
    assert again.status == DeploymentStatus.FAILED
    assert "versions are immutable" in again.error
    assert page(world, "releases/1.0.0/index.html") == "<h1>one</h1>"


def test_a_zip_with_a_path_outside_the_release_is_refused(
    world: World, site_service: Service, alice: Any, celery_worker: Any
) -> None:
    ref = world.upload("payments-web/evil.zip", zip_of({"../../live.json": "{}"}))
    requested = actions.request_deployment(
        site_service, world.envs["dev"], artifact=ref, commit="abcdef12", actor=alice
    )
    failed = wait_for_status(
        requested.deployment, DeploymentStatus.FAILED, DeploymentStatus.SUCCEEDED, timeout=60
    )
    assert failed.status == DeploymentStatus.FAILED
    assert "path outside it" in failed.error
