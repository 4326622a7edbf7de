"""`idp fleet …` against a live server with a real Celery worker and real Terraform: start a
fleet upgrade that stops after planning, follow it, read its grouped diffs, cancel it (the
held plans are discarded: nothing was applied)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.db import OperationalError

from fleet.models import FleetUpgrade
from provisioning import actions
from provisioning.choices import ResourceStatus
from provisioning.engine.backend import ensure_state_bucket
from tests.cli.conftest import cli, token_for  # noqa: F401 - fixtures

from .conftest import fleet_envs, register  # noqa: F401 - fixture

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def wait(check: Any, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except OperationalError:
            pass
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


@pytest.mark.usefixtures("celery_worker")
def test_start_follow_and_cancel_from_the_cli(
    cli,  # noqa: F811
    token_for,  # noqa: F811
    alice,
    bob,
    teams,
    fleet_envs,  # noqa: F811
    aws,
    settings,
    tmp_path,
):
    settings.IDP_WORK_DIR = tmp_path / "runs"
    settings.IDP_PLUGIN_CACHE_DIR = tmp_path.parent / "plugin-cache"
    ensure_state_bucket()
    v1 = register("v1")
    resources = [
        actions.request_resource(
            actor=alice,
            template="fleet-echo",
            version=None,
            team=teams["payments"],
            environment=env,
            name=f"{env}-cli",
            parameters={"message": message},
        ).resource
        for env, message in (("sandbox", "hello"), ("dev", "replace-me"))
    ]

    def provisioned() -> bool:
        for r in resources:
            r.refresh_from_db()
        return all(r.status == ResourceStatus.PROVISIONED for r in resources)

    wait(provisioned, "the v1 resources")
    register("v2")
    token = token_for(bob)

    started = cli(
        "fleet",
        "start",
        "fleet-echo",
        "--version",
        "2",
        "--team",
        "payments",
        "--no-auto-apply",
        "--threshold",
        "10",
        "-o",
        "json",
        token=token,
    )
    assert started.exit_code == 0, started.output
    fleet_id = str(json.loads(started.stdout)["id"])

    followed = cli("fleet", "status", fleet_id, "--follow", "--timeout", "180", token=token)
    assert followed.exit_code == 0, followed.output
    assert "planned" in followed.stdout
    assert "In-place changes: 1" in followed.stdout and "Replacements: 1" in followed.stdout
    # By change, destructive first: the replacement's group, then the in-place one.
    replaced, in_place = followed.stdout.split("1 resource [replaces]:")[1].split("1 resource:")
    assert 'triggers_replace: null → "v2"  # forces replacement' in replaced
    assert 'input: "hello" → "hello@v2"' in in_place

    listed = cli("fleet", "list", token=token)
    assert fleet_id in listed.stdout and "fleet-echo v2" in listed.stdout

    cancelled = cli("fleet", "cancel", fleet_id, "--reason", "not today", token=token)
    assert cancelled.exit_code == 0, cancelled.output

    def discarded() -> bool:
        for r in resources:
            r.refresh_from_db()
        return all(r.status == ResourceStatus.PROVISIONED for r in resources)

    wait(discarded, "the held plans to be discarded")
    assert all(r.template_version_id == v1.pk for r in resources)
    assert set(FleetUpgrade.objects.get(pk=fleet_id).items.values_list("status", flat=True)) == {
        "cancelled"
    }
    again = cli("fleet", "resume", fleet_id, token=token)
    assert again.exit_code != 0 and "cancelled" in again.stderr
