"""/api/v1/fleet-upgrades/ without Terraform: who may select what, input errors, visibility,
controls, and the portal and admin pages. (The runs themselves: test_fleet_e2e.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from catalog.models import Template, TemplateVersion
from fleet.choices import FleetStatus, ItemStatus
from fleet.models import FleetUpgrade
from idp.models import AuditEvent
from provisioning.choices import ResourceStatus
from provisioning.models import Resource

from .conftest import fleet_envs  # noqa: F401 - fixture

URL = "/api/v1/fleet-upgrades/"


@pytest.fixture
def template(db: None) -> Template:
    template = Template.objects.create(slug="fleet-echo", title="Fleet echo", category="other")
    for number in (1, 2):
        TemplateVersion.objects.create(
            template=template, number=number, files={}, content_hash=f"v{number}"
        )
    return template


@pytest.fixture
def fleet_resources(template, teams, fleet_envs) -> dict[str, list[Resource]]:  # noqa: F811
    v1 = template.versions.get(number=1)
    made: dict[str, list[Resource]] = {}
    for team in teams.values():
        made[team.slug] = [
            Resource.objects.create(
                team=team,
                template=template,
                template_version=v1,
                environment=env,
                name=f"{env.slug}-{i}",
                status=ResourceStatus.PROVISIONED,
            )
            for env in fleet_envs.values()
            for i in range(2)
        ]
    return made


def start(api: Any, **body: Any) -> Any:
    return api.post(URL, {"template": "fleet-echo", "version": "2", **body}, format="json")


@pytest.mark.django_db
def test_a_maintainer_upgrades_their_team_in_environment_waves(api_as, bob, fleet_resources):
    answer = start(api_as(bob), selection={"kind": "team", "teams": ["payments"]})
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["team"] == "payments" and body["status"] == FleetStatus.PLANNING
    assert [w["name"] for w in body["waves"]] == ["sandbox", "dev", "prod"]
    assert {i["team"] for i in body["items"]} == {"payments"}
    assert {(i["environment"], i["wave"]) for i in body["items"]} == {
        ("sandbox", 1),
        ("dev", 2),
        ("prod", 3),
    }
    assert AuditEvent.objects.filter(action="fleet.started").count() == 1


@pytest.mark.django_db
def test_a_maintainer_selecting_all_gets_only_their_team(api_as, bob, fleet_resources):
    body = start(api_as(bob), selection={"kind": "all"}).json()
    assert body["progress"]["total"] == 6 and body["team"] == "payments"


@pytest.mark.django_db
def test_another_teams_resource_in_an_explicit_list_is_refused(api_as, bob, fleet_resources):
    mine = fleet_resources["payments"][0].pk
    theirs = fleet_resources["search"][0].pk
    answer = start(api_as(bob), selection={"kind": "resources", "resources": [mine, theirs]})
    assert answer.status_code == 400
    assert str(theirs) in answer.json()["detail"]["resources"][0]
    answer = start(api_as(bob), selection={"kind": "team", "teams": ["search"]})
    assert answer.status_code == 400 and "teams" in answer.json()["detail"]
    assert not FleetUpgrade.objects.exists()


@pytest.mark.django_db
def test_members_may_not_start_and_other_teams_see_404(
    api_as, alice, bob, carol, platform_admin, fleet_resources
):
    assert start(api_as(alice), selection={"kind": "all"}).status_code == 403
    fleet_id = start(api_as(bob), selection={"kind": "all"}).json()["id"]
    assert api_as(carol).get(f"{URL}{fleet_id}/").status_code == 404
    assert api_as(carol).post(f"{URL}{fleet_id}/pause/").status_code == 404
    assert api_as(carol).get(URL).json()["results"] == []
    # Members of the team see it but may not steer it.
    assert api_as(alice).get(f"{URL}{fleet_id}/").status_code == 200
    assert api_as(alice).post(f"{URL}{fleet_id}/pause/").status_code == 403
    # A platform-wide fleet upgrade is the platform admins' alone.
    FleetUpgrade.objects.filter(pk=fleet_id).update(status=FleetStatus.CANCELLED)
    wide = start(api_as(platform_admin), selection={"kind": "all"}).json()
    assert wide["team"] is None and wide["progress"]["total"] == 12
    assert api_as(bob).get(f"{URL}{wide['id']}/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"template": "nope"}, "template"),
        ({"version": "9"}, "version"),
        ({"selection": {"kind": "everything"}}, "selection"),
        ({"selection": {"kind": "environment", "environments": ["moon"]}}, "environments"),
        ({"waves": [["sandbox"], ["dev"]]}, "waves"),
        ({"waves": [["sandbox", "dev"], ["dev", "prod"]]}, "waves"),
        ({"percentages": [50, 40, 100]}, "percentages"),
        ({"percentages": [10, 50]}, "percentages"),
        ({"parallelism": 0}, "parallelism"),
        ({"failure_threshold": 101}, "failure_threshold"),
    ],
)
def test_bad_input_answers_400_with_the_field(api_as, platform_admin, fleet_resources, body, field):
    answer = start(api_as(platform_admin), **body)
    assert answer.status_code == 400, answer.content
    assert field in answer.json()["detail"], answer.json()


@pytest.mark.django_db
def test_percentage_waves_and_one_active_fleet_per_resource(
    api_as, platform_admin, fleet_resources
):
    body = start(
        api_as(platform_admin), selection={"kind": "all"}, percentages=[25, 50, 100]
    ).json()
    per_wave = [w["counts"].get("pending", 0) for w in body["waves"]]
    assert per_wave == [3, 3, 6]
    # Sandbox resources go first.
    first = {i["environment"] for i in body["items"] if i["wave"] == 1}
    assert first == {"sandbox"}
    again = start(api_as(platform_admin), selection={"kind": "all"})
    assert again.status_code == 409


@pytest.mark.django_db
def test_pause_resume_cancel_are_audited(api_as, bob, fleet_resources):
    api = api_as(bob)
    fleet_id = start(api, selection={"kind": "all"}, auto_apply=False).json()["id"]
    paused = api.post(f"{URL}{fleet_id}/pause/", {"reason": "lunch"}, format="json")
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    assert api.post(f"{URL}{fleet_id}/pause/").status_code == 409
    assert api.post(f"{URL}{fleet_id}/resume/").json()["status"] == "planning"
    cancelled = api.post(f"{URL}{fleet_id}/cancel/", {"reason": "wrong version"}, format="json")
    assert cancelled.json()["status"] == "cancelled"
    assert api.post(f"{URL}{fleet_id}/resume/").status_code == 409
    from fleet import actions

    actions.advance(fleet_id)  # the driver winds it down: nothing was planned yet
    statuses = set(FleetUpgrade.objects.get(pk=fleet_id).items.values_list("status", flat=True))
    assert statuses == {ItemStatus.CANCELLED}
    seen = list(
        AuditEvent.objects.filter(action__startswith="fleet.")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert seen == ["fleet.started", "fleet.paused", "fleet.resumed", "fleet.cancelled"]


@pytest.mark.django_db
def test_portal_and_admin_pages(client_as, bob, carol, platform_admin, fleet_resources):
    portal = client_as(bob)
    answer = portal.post(
        "/fleet-upgrades/new/",
        {
            "template": "fleet-echo",
            "version": "2",
            "kind": "team",
            "teams": "payments",
            "parallelism": 5,
            "failure_threshold": 10,
            "auto_apply": "on",
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    fleet = FleetUpgrade.objects.get()
    page = portal.get(f"/fleet-upgrades/{fleet.pk}/").content.decode()
    assert "sandbox-0" in page and "Pause" in page
    assert "fleet-echo" in portal.get("/fleet-upgrades/").content.decode()
    refused = portal.post(
        "/fleet-upgrades/new/",
        {
            "template": "fleet-echo",
            "kind": "team",
            "teams": "search",
            "parallelism": 5,
            "failure_threshold": 0,
        },
    )
    assert refused.status_code == 200 and "Unknown teams: search" in refused.content.decode()
    assert client_as(carol).get(f"/fleet-upgrades/{fleet.pk}/").status_code == 404
    platform_admin.is_staff = True
    platform_admin.save(update_fields=["is_staff"])
    admin = client_as(platform_admin)
    assert admin.get(f"/admin/fleet/fleetupgrade/{fleet.pk}/change/").status_code == 200
    assert admin.get("/admin/fleet/fleetupgrade/").status_code == 200


@pytest.mark.django_db
def test_the_beat_sweeper_is_a_registered_task_that_drives_fleets(
    api_as, bob, fleet_resources, settings
):
    from config.celery import app
    from idp.jobs.tasks import jobs_housekeeping

    # The jobs' one housekeeping task drives fleets (the kind's schedule).
    entry = settings.CELERY_BEAT_SCHEDULE["idp-jobs-housekeeping"]
    assert entry["task"] == "idp.jobs_housekeeping" and entry["task"] in app.tasks
    api = api_as(bob)
    fleet_id = start(api, selection={"kind": "all"}).json()["id"]
    api.post(f"{URL}{fleet_id}/cancel/")
    # The cancelled fleet upgrade still has items to wind down.
    assert jobs_housekeeping()["fleet.drive"] == {"scheduled": 1}
    assert jobs_housekeeping()["fleet.drive"] == {"scheduled": 0}
    items = FleetUpgrade.objects.get(pk=fleet_id).items.values_list("status", flat=True)
    assert set(items) == {ItemStatus.CANCELLED}


@pytest.mark.django_db
def test_fleet_lists_read_progress_in_one_query_per_page(
    api_as, client_as, platform_admin, template, fleet_resources, teams
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from fleet.models import FleetItem

    v1, v2 = template.versions.get(number=1), template.versions.get(number=2)
    resources = fleet_resources["payments"]

    def make_fleets(count: int) -> None:
        for _ in range(count):
            fleet = FleetUpgrade.objects.create(
                template=template,
                target_version=v2,
                team=teams["payments"],
                waves=[{"name": "all"}],
                status=FleetStatus.COMPLETED,
            )
            FleetItem.objects.bulk_create(
                FleetItem(fleet=fleet, resource=r, from_version=v1, status=ItemStatus.APPLIED)
                for r in resources
            )

    api, portal = api_as(platform_admin), client_as(platform_admin)
    make_fleets(1)
    api.get(URL)  # warm the token's last-used touch
    with CaptureQueriesContext(connection) as few_api:
        assert api.get(URL).json()["results"][0]["progress"]["done"] == len(resources)
    with CaptureQueriesContext(connection) as few_page:
        assert portal.get("/fleet-upgrades/").status_code == 200
    make_fleets(4)
    with CaptureQueriesContext(connection) as many_api:
        assert len(api.get(URL).json()["results"]) == 5
    with CaptureQueriesContext(connection) as many_page:
        assert portal.get("/fleet-upgrades/").status_code == 200
    assert len(many_api) == len(few_api), "\n".join(q["sql"] for q in many_api.captured_queries)
    assert len(many_page) == len(few_page), "\n".join(q["sql"] for q in many_page.captured_queries)
