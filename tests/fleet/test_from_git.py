"""The done-when of issue 17 across its parts: a Git repository with tags v1.0.0 and v1.1.0
of a provider-free module is registered as a template source; resources requested on
v1.0.0 (by label, through the API) in sandbox, dev and prod are fleet-upgraded to v1.1.0:
sandbox and dev apply wave by wave by themselves, prod waits in the approvals inbox.
A withdrawn version is no target for a request, an upgrade or a fleet."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from catalog.models import Template, TemplateVersion
from catalog.services import sources
from fleet.choices import FleetStatus, ItemStatus
from fleet.models import FleetUpgrade
from idp.models import Role
from provisioning import actions
from provisioning.actions import inbox
from provisioning.choices import ResourceStatus
from provisioning.engine.backend import ensure_state_bucket
from provisioning.engine.dbretry import retry_locked
from provisioning.models import Resource
from tests.catalog.test_sources import Origin

from .conftest import api_retry, drive_until
from .test_fleet_e2e import wait_all

pytestmark = [pytest.mark.slow, pytest.mark.integration]

YAML = "title: Git note\nslug: git-note\ncategory: testing\nowner: payments\n"
VARIABLES = 'variable "message" {\n  description = "A message."\n  type        = string\n}\n'


def main_tf(suffix: str) -> str:
    return (
        'resource "terraform_data" "note" {\n'
        f'  input = "${{var.message}}{suffix}"\n'
        "}\n\n"
        'output "note" {\n  value = terraform_data.note.output\n}\n'
    )


def release(origin: Origin, tag: str, suffix: str) -> None:
    origin.commit(
        {"template.yaml": YAML, "variables.tf": VARIABLES, "main.tf": main_tf(suffix)}, tag
    )
    origin.tag(tag, f"Release {tag}")


@pytest.mark.usefixtures("celery_worker")
def test_git_tags_become_versions_and_a_fleet_moves_resources_between_them(
    alice, bob, make_user, platform_admin, teams, fleet_envs, aws, settings, tmp_path, api_as
):
    settings.IDP_WORK_DIR = tmp_path / "runs"
    settings.IDP_PLUGIN_CACHE_DIR = tmp_path.parent / "plugin-cache"
    ensure_state_bucket()
    erin = make_user("erin", team=teams["payments"], role=Role.MAINTAINER)
    as_admin, as_alice, as_erin = (api_as(u) for u in (platform_admin, alice, erin))
    origin = Origin(Path(tmp_path) / "git", name="notes")
    release(origin, "v1.0.0", "")
    release(origin, "v1.1.0", " (1.1)")

    registered = api_retry(
        as_admin.post,
        "/api/v1/template-sources/",
        {"url": origin.url, "ref_pattern": "v*", "paths": []},
        format="json",
    )
    assert registered.status_code == 201, registered.content
    source_id = registered.json()["id"]
    # The sync runs here, or on the worker its nudge reached first: wait for either.
    deadline = time.monotonic() + 60
    versions = retry_locked(TemplateVersion.objects.filter(template__slug="git-note").count)
    while versions() != 2:
        retry_locked(sources.run_queued)(source_id)
        assert time.monotonic() < deadline, "the template source did not sync"
        time.sleep(0.3)
    template = Template.objects.get(slug="git-note")
    assert sorted(template.versions.values_list("label", flat=True)) == ["v1.0.0", "v1.1.0"]

    # Two resources per environment, requested on v1.0.0 by its tag.
    resources: dict[str, list[Resource]] = {}
    for env in ("sandbox", "dev", "prod"):
        resources[env] = []
        for i in range(2):
            answer = api_retry(
                as_alice.post,
                "/api/v1/resources/",
                {
                    "template": "git-note",
                    "version": "v1.0.0",
                    "team": "payments",
                    "environment": env,
                    "name": f"{env}-note-{i}",
                    "parameters": {"message": f"{env}-{i}"},
                },
                format="json",
            )
            assert answer.status_code == 201, answer.content
            assert answer.json()["version_label"] == "1.0.0"
            resources[env].append(Resource.objects.get(pk=answer.json()["id"]))
    wait_all(resources["sandbox"] + resources["dev"], ResourceStatus.PROVISIONED)
    wait_all(resources["prod"], ResourceStatus.AWAITING_APPROVAL)
    for r in resources["prod"]:
        retry_locked(actions.approve)(r, actor=bob)
    wait_all(resources["prod"], ResourceStatus.PROVISIONED)

    # The fleet upgrade names its target by tag too.
    started = api_retry(
        as_erin.post,
        "/api/v1/fleet-upgrades/",
        {
            "template": "git-note",
            "version": "v1.1.0",
            "selection": {"kind": "team", "teams": ["payments"]},
        },
        format="json",
    )
    assert started.status_code == 201, started.content
    assert started.json()["target_version_label"] == "1.1.0"
    fleet = FleetUpgrade.objects.get(pk=started.json()["id"])
    assert fleet.target_version.label == "v1.1.0"
    fleet = drive_until(fleet, lambda f: f.planned_at is not None, "the plan summary")
    detail = api_retry(as_erin.get, f"/api/v1/fleet-upgrades/{fleet.pk}/").json()
    groups = {g["group"]: g for g in detail["groups"]}
    assert groups["update"]["count"] == 6, detail["groups"]
    assert any(d["after"] == '"sandbox-0 (1.1)"' for d in groups["update"]["diffs"])

    drive_until(
        fleet,
        lambda f: f.items.filter(status=ItemStatus.AWAITING_APPROVAL).count() == 2,
        "prod plans in the inbox",
    )
    for r in resources["sandbox"] + resources["dev"]:
        r.refresh_from_db()
        assert r.template_version.label == "v1.1.0", r.name
    waiting = {i.resource.pk for i in inbox.inbox_items(bob)}
    assert waiting == {r.pk for r in resources["prod"]}
    for r in resources["prod"]:
        retry_locked(actions.approve)(r, actor=bob)
    fleet = drive_until(fleet, lambda f: f.status == FleetStatus.COMPLETED, "the prod wave")
    assert fleet.items.filter(status=ItemStatus.APPLIED).count() == 6

    # A withdrawn version takes no new request, upgrade or fleet.
    v100 = template.versions.get(label="v1.0.0")
    sources.set_version_status(v100, "withdrawn", actor=platform_admin, reason="CVE-0000")
    refused = api_retry(
        as_alice.post,
        "/api/v1/resources/",
        {
            "template": "git-note",
            "version": "v1.0.0",
            "team": "payments",
            "environment": "sandbox",
            "name": "late",
            "parameters": {"message": "late"},
        },
        format="json",
    )
    assert refused.status_code == 400, refused.content
    assert "withdrawn" in str(refused.json()["detail"]["version"]), refused.content
    back = api_retry(
        as_erin.post,
        f"/api/v1/resources/{resources['sandbox'][0].pk}/upgrade/",
        {"version": "v1.0.0"},
        format="json",
    )
    assert back.status_code == 400, back.content
    assert "withdrawn" in str(back.json()["detail"]["version"])
    fleet_back = api_retry(
        as_erin.post,
        "/api/v1/fleet-upgrades/",
        {"template": "git-note", "version": "1.0.0", "selection": {"kind": "all"}},
        format="json",
    )
    assert fleet_back.status_code == 400, fleet_back.content
    assert "withdrawn" in str(fleet_back.json()["detail"]["version"])
