"""The done-when of fleet upgrades, end to end: 30 resources on v1 across sandbox, dev and
prod are upgraded to v2 with real Terraform on a real Celery worker (state on moto S3).

The summary groups their diffs; sandbox and dev apply wave by wave by themselves; a failed
apply in dev pauses the rollout; after resume the prod plans wait in the approvals inbox
and apply once approved."""

from __future__ import annotations

import time

import pytest
from django.db import OperationalError

from fleet.choices import FleetStatus, ItemStatus
from fleet.models import FleetUpgrade
from idp.models import AuditEvent, Role
from provisioning import actions
from provisioning.actions import inbox
from provisioning.choices import ResourceStatus
from provisioning.engine.backend import ensure_state_bucket
from provisioning.engine.dbretry import retry_locked
from provisioning.models import Resource

from .conftest import api_retry, drive_until, register

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def wait_all(resources: list[Resource], status: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    pending = list(resources)
    while pending:
        try:
            for r in pending:
                r.refresh_from_db()
            assert not [r for r in pending if r.status == ResourceStatus.FAILED], [
                r.last_error for r in pending if r.status == ResourceStatus.FAILED
            ]
            pending = [r for r in pending if r.status != status]
        except OperationalError:
            pass
        assert time.monotonic() < deadline, f"{len(pending)} resources not {status}"
        time.sleep(0.3)


def messages_for(env: str) -> list[str]:
    names = [f"{env}-{i}" for i in range(10)]
    if env == "sandbox":
        names[0] = "replace-me"
    if env == "dev":
        names[0], names[1] = "replace-me", "boom"
    return names


@pytest.mark.usefixtures("celery_worker")
def test_thirty_resources_upgrade_in_waves(
    alice, bob, make_user, teams, fleet_envs, aws, settings, tmp_path, api_as, client_as
):
    settings.IDP_WORK_DIR = tmp_path / "runs"
    settings.IDP_PLUGIN_CACHE_DIR = tmp_path.parent / "plugin-cache"
    ensure_state_bucket()
    erin = make_user("erin", team=teams["payments"], role=Role.MAINTAINER)
    v1 = register("v1")
    payments = teams["payments"]

    # 30 resources on v1: 10 per environment, prod ones approved by a maintainer.
    resources: dict[str, list[Resource]] = {}
    for env in ("sandbox", "dev", "prod"):
        resources[env] = [
            actions.request_resource(
                actor=alice,
                template="fleet-echo",
                version=None,
                team=payments,
                environment=env,
                name=f"{env}-r{i}",
                parameters={"message": message},
            ).resource
            for i, message in enumerate(messages_for(env))
        ]
    wait_all(resources["sandbox"] + resources["dev"], ResourceStatus.PROVISIONED)
    wait_all(resources["prod"], ResourceStatus.AWAITING_APPROVAL)
    for r in resources["prod"]:
        retry_locked(actions.approve)(r, actor=bob)
    wait_all(resources["prod"], ResourceStatus.PROVISIONED)
    everything = [r for env in resources.values() for r in env]
    assert {r.template_version_id for r in everything} == {v1.pk}

    v2 = register("v2")
    answer = api_retry(
        api_as(bob).post,
        "/api/v1/fleet-upgrades/",
        {
            "template": "fleet-echo",
            "version": str(v2.number),
            "selection": {"kind": "team", "teams": ["payments"]},
            "parallelism": 6,
            "failure_threshold": 0,
        },
        format="json",
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert [w["name"] for w in body["waves"]] == ["sandbox", "dev", "prod"]
    assert body["progress"]["total"] == 30
    fleet = FleetUpgrade.objects.get(pk=body["id"])

    # Planning: every plan held, none applied before its wave.
    fleet = drive_until(fleet, lambda f: f.planned_at is not None, "the plan summary")
    detail = api_retry(api_as(bob).get, f"/api/v1/fleet-upgrades/{fleet.pk}/").json()
    groups = {g["group"]: g for g in detail["groups"]}
    assert groups["replace"]["count"] == 3, detail["groups"]
    assert groups["update"]["count"] == 27
    assert {d["attribute"] for d in groups["update"]["diffs"]} >= {"input"}
    replaced = {d["attribute"] for d in groups["replace"]["diffs"]}
    assert "triggers_replace" in replaced
    assert any(d["after"] == '"sandbox-1@v2"' for d in groups["update"]["diffs"])
    page = client_as(bob).get(f"/fleet-upgrades/{fleet.pk}/").content.decode()
    assert "Replacements" in page and "triggers_replace" in page and "In-place changes" in page

    # Waves: sandbox applies by itself, dev's failure pauses the rollout.
    fleet = drive_until(fleet, lambda f: f.status == FleetStatus.PAUSED, "the automatic pause")
    assert "Wave 2 (dev)" in fleet.pause_reason and "threshold" in fleet.pause_reason
    for r in resources["sandbox"]:
        r.refresh_from_db()
        assert r.status == ResourceStatus.PROVISIONED and r.template_version_id == v2.pk
    boom = resources["dev"][1]
    boom_item = fleet.items.get(resource=boom)
    assert boom_item.status == ItemStatus.FAILED and "boom" in boom_item.error
    prod_items = fleet.items.filter(resource__environment__slug="prod")
    assert set(prod_items.values_list("status", flat=True)) == {ItemStatus.PLANNED}
    assert not [i for i in inbox.inbox_items(erin) if i.resource.environment.slug == "prod"]
    assert AuditEvent.objects.filter(action="fleet.auto_paused").count() == 1

    # Resume: dev finishes, prod plans go to the approvals inbox and wait there.
    resumed = api_retry(api_as(bob).post, f"/api/v1/fleet-upgrades/{fleet.pk}/resume/")
    assert resumed.status_code == 200
    fleet = drive_until(
        fleet,
        lambda f: (
            f.current_wave == 2 and not f.items.filter(wave=2, status=ItemStatus.PLANNED).exists()
        ),
        "the prod wave",
    )
    drive_until(
        fleet,
        lambda f: f.items.filter(wave=2, status=ItemStatus.AWAITING_APPROVAL).count() == 10,
        "prod plans in the inbox",
    )
    for r in resources["dev"]:
        r.refresh_from_db()
        if r.pk != boom.pk:
            assert r.template_version_id == v2.pk, r.name
    waiting = {i.resource.pk for i in inbox.inbox_items(erin)}
    assert waiting == {r.pk for r in resources["prod"]}
    assert fleet.status == FleetStatus.APPLYING

    # The approvers decide: one rejection, the rest approved; then the fleet completes.
    rejected, *approved = resources["prod"]
    retry_locked(actions.reject)(rejected, actor=erin, reason="not this one")
    for r in approved:
        retry_locked(actions.approve)(r, actor=erin)
    fleet = drive_until(fleet, lambda f: f.status == FleetStatus.COMPLETED, "the last wave")
    counts = dict(
        (s, fleet.items.filter(status=s).count())
        for s in (ItemStatus.APPLIED, ItemStatus.FAILED, ItemStatus.REJECTED)
    )
    everything_seen = list(fleet.items.values_list("resource__name", "status", "error"))
    assert counts == {
        ItemStatus.APPLIED: 28,
        ItemStatus.FAILED: 1,
        ItemStatus.REJECTED: 1,
    }, everything_seen
    rejected.refresh_from_db()
    assert rejected.template_version_id == v1.pk
    actions_seen = set(
        AuditEvent.objects.filter(action__startswith="fleet.").values_list("action", flat=True)
    )
    assert {
        "fleet.started",
        "fleet.planned",
        "fleet.wave_started",
        "fleet.wave_completed",
        "fleet.auto_paused",
        "fleet.resumed",
        "fleet.completed",
    } <= actions_seen
