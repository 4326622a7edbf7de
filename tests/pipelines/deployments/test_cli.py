"""`idp deploy …` through the CLI test harness: a live server over real HTTP, a real worker,
the local AWS API."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipelines.models import Deployment

from ...cli.conftest import cli, one_error_line, token_for  # noqa: F401 - fixtures
from .conftest import World, zip_of

pytestmark = pytest.mark.django_db(transaction=True)


def test_idp_deploy_waits_streams_the_log_and_lists_it(
    cli: Any,  # noqa: F811
    token_for: Any,  # noqa: F811
    world: World,
    alice: Any,
    celery_worker: Any,
) -> None:
    data = zip_of({"app.py": "def handler(e, c):\n    return 'cli'\n"})
    world.upload("payments-api/4.2.0.zip", data)
    token = token_for(alice)
    result = cli(
        "deploy",
        "--service", "payments-api",
        "--env", "dev",
        "--artifact", "payments-api/4.2.0.zip",  # a key in the team's artifact bucket
        "--commit", "4242abcd" * 5,
        "--version", "4.2.0",
        "--wait",
        token=token,
    )  # fmt: skip
    assert result.exit_code == 0, result.output + result.stderr
    assert "Alias live moved to version" in result.stdout
    assert "succeeded" in result.stdout
    deployment = Deployment.objects.get()
    assert deployment.version == "4.2.0" and deployment.triggered_by == alice
    listed = cli("deployments", "list", "--service", "payments-api", "-o", "json", token=token)
    assert [d["id"] for d in json.loads(listed.stdout)] == [deployment.pk]


def test_idp_deploy_errors_are_one_line(
    cli: Any,  # noqa: F811
    token_for: Any,  # noqa: F811
    world: World,
    alice: Any,
    carol: Any,
) -> None:
    bad = cli(
        "deploy", "-s", "payments-api", "-e", "dev", "-a", "x.zip", "-c", "nope",
        token=token_for(alice),
    )  # fmt: skip
    assert bad.exit_code != 0
    assert "commit" in one_error_line(bad)
    hidden = cli(
        "deploy", "-s", "payments-api", "-e", "dev", "-a", "x.zip", "-c", "abcdef12",
        token=token_for(carol),
    )  # fmt: skip
    assert hidden.exit_code == 4, hidden.stderr
    assert "payments-api" in one_error_line(hidden)
    assert not Deployment.objects.exists()


def test_idp_deploy_to_prod_waits_for_approval(
    cli: Any,  # noqa: F811
    token_for: Any,  # noqa: F811
    world: World,
    bob: Any,
) -> None:
    """bob, a maintainer who could approve others' deployments, never approves his own."""
    world.upload("payments-api/5.0.0.zip", zip_of({"app.py": "x = 5\n"}))
    result = cli(
        "deploy", "-s", "payments-api", "-e", "prod", "-a", "payments-api/5.0.0.zip",
        "-c", "5050abcd" * 5, "-o", "json",
        token=token_for(bob),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "awaiting_approval"
    refused = cli("deployments", "approve", str(Deployment.objects.get().pk), token=token_for(bob))
    assert refused.exit_code != 0
    assert "four eyes" in one_error_line(refused)
