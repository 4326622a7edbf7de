"""Issue 27, "Choosing what to upgrade": the selection filters (from-version, teams,
environments, key=value tags) in the action, the API and the portal form; the live preview
(count, skipped); the refusal of an upgrade to the version every match already runs; the
wave counter that never passes the count; the controls inside the live part."""

from __future__ import annotations

import re
from typing import Any

import pytest

from catalog.models import Template, TemplateVersion
from fleet.choices import FleetStatus, ItemStatus
from fleet.models import FleetUpgrade
from idp.models import Environment
from tests.cli.conftest import cli, token_for  # noqa: F401 - fixtures
from tests.helpers import make_resource

URL = "/api/v1/fleet-upgrades/"
PREVIEW = "/fleet-upgrades/new/preview/"


@pytest.fixture
def estate(teams: dict[str, Any]) -> dict[str, Any]:
    """example-config 1.0 and 1.1.0 (tags of a source); payments runs it in dev, staging
    and prod on 1.0 and once in dev on 1.1.0 already; search once in dev on 1.0."""
    template = Template.objects.create(slug="example-config", title="Example", category="x")
    old, new = (
        TemplateVersion.objects.create(
            template=template, number=n, label=label, content_hash=f"h{n}", files={}
        )
        for n, label in ((1, "1.0"), (2, "1.1.0"))
    )
    template.current_version = new
    template.save(update_fields=["current_version"])
    envs = {
        slug: Environment.objects.create(slug=slug, name=slug.title(), order=order)
        for order, slug in enumerate(("dev", "staging", "prod"))
    }
    payments, search = teams["payments"], teams["search"]
    demo = {"labels": {"tier": "demo"}}
    made = [
        make_resource(payments, "pay-dev", template_version=old, environment=envs["dev"]),
        make_resource(
            payments, "pay-stg", template_version=old, environment=envs["staging"], parameters=demo
        ),
        make_resource(payments, "pay-prod", template_version=old, environment=envs["prod"]),
        make_resource(
            payments, "pay-dev-new", template_version=new, environment=envs["dev"], parameters=demo
        ),
        make_resource(search, "search-dev", template_version=old, environment=envs["dev"]),
    ]
    return {"template": template, "old": old, "new": new, "envs": envs, "resources": made}


def names(body: dict[str, Any]) -> set[str]:
    return {i["resource"]["name"] for i in body["items"]}


def start(api: Any, selection: dict[str, Any], version: str = "1.1.0") -> Any:
    body = {"template": "example-config", "version": version, "selection": selection}
    return api.post(URL, body, format="json")


# --- the filters, through the API --------------------------------------------------------


@pytest.mark.django_db
def test_from_version_and_environments_select_example_config_1_0_in_dev_and_staging(
    api_as, platform_admin, estate
):
    selection = {"kind": "all", "from_versions": ["1.0"], "environments": ["dev", "staging"]}
    answer = start(api_as(platform_admin), selection)
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert names(body) == {"pay-dev", "pay-stg", "search-dev"}
    assert body["selection"] == {
        "kind": "all",
        "environments": ["dev", "staging"],
        "from_versions": ["1.0"],
    }
    assert [w["name"] for w in body["waves"]] == ["dev", "staging"]


@pytest.mark.django_db
def test_each_filter_narrows_and_they_combine(api_as, platform_admin, estate):
    api = api_as(platform_admin)
    by_team = start(api, {"kind": "all", "teams": ["payments"], "from_versions": [1]})
    assert names(by_team.json()) == {"pay-dev", "pay-stg", "pay-prod"}
    FleetUpgrade.objects.all().delete()
    by_tag = start(api, {"kind": "environment", "environments": ["staging"], "tags": ["tier=demo"]})
    assert by_tag.status_code == 201, by_tag.content
    assert names(by_tag.json()) == {"pay-stg"}
    assert by_tag.json()["selection"]["tags"] == ["tier=demo"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("selection", "field", "text"),
    [
        ({"from_versions": ["9.9"]}, "from_versions", "no version"),
        ({"tags": ["tier"]}, "tags", "key=value"),
        ({"environments": ["moon"]}, "environments", "moon"),
        ({"teams": ["search"]}, "teams", "search"),  # bob maintains payments only
        ({"tags": ["tier=gold"]}, "selection", "matches"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(api_as, bob, estate, selection, field, text):
    answer = start(api_as(bob), {"kind": "all", **selection})
    assert answer.status_code == 400, answer.content
    assert text in answer.json()["detail"][field][0]
    assert not FleetUpgrade.objects.exists()


@pytest.mark.django_db
def test_the_existing_selection_kinds_still_work(api_as, bob, estate):
    answer = start(api_as(bob), {"kind": "team", "teams": ["payments"]})
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert names(body) == {"pay-dev", "pay-stg", "pay-prod", "pay-dev-new"}
    unchanged = [i for i in body["items"] if i["status"] == ItemStatus.UNCHANGED]
    assert [i["resource"]["name"] for i in unchanged] == ["pay-dev-new"]


# --- the refusal of "1.1.0 → 1.1.0" ------------------------------------------------------


@pytest.mark.django_db
def test_an_upgrade_to_the_version_every_match_runs_is_a_400_on_version(
    api_as, platform_admin, estate
):
    answer = start(api_as(platform_admin), {"kind": "all", "from_versions": ["1.1.0"]})
    assert answer.status_code == 400, answer.content
    message = answer.json()["detail"]["version"][0]
    assert "already runs version 1.1.0" in message and "1.1.0 → 1.1.0" in message
    assert not FleetUpgrade.objects.exists()


@pytest.mark.django_db
def test_the_portal_form_refuses_the_same_version_on_its_field(client_as, platform_admin, estate):
    answer = client_as(platform_admin).post(
        "/fleet-upgrades/new/",
        {
            "template": "example-config",
            "version": "1",
            "from_versions": ["1"],
            "environments": ["dev", "staging"],
            "parallelism": 10,
            "failure_threshold": 0,
        },
    )
    assert answer.status_code == 200
    html = answer.content.decode()
    version_field = html.split('for="id_version"')[1].split("</div>")[0]
    assert "already runs version 1.0 (1.0 → 1.0 changes nothing)" in version_field
    assert not FleetUpgrade.objects.exists()


@pytest.mark.django_db
def test_the_portal_form_starts_with_checked_filters(client_as, platform_admin, estate):
    answer = client_as(platform_admin).post(
        "/fleet-upgrades/new/",
        {
            "template": "example-config",
            "version": "2",
            "from_versions": ["1"],
            "environments": ["dev", "staging"],
            "parallelism": 10,
            "failure_threshold": 0,
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:3000]
    fleet = FleetUpgrade.objects.get()
    assert fleet.target_version == estate["new"]
    resources = set(fleet.items.values_list("resource__name", flat=True))
    assert resources == {"pay-dev", "pay-stg", "search-dev"}


# --- the form and its preview ------------------------------------------------------------


@pytest.mark.django_db
def test_the_form_offers_choices_from_the_database_without_backticks(client_as, bob, estate):
    html = client_as(bob).get("/fleet-upgrades/new/?template=example-config").content.decode()
    assert "`" not in html
    team_boxes = re.findall(r'name="teams" value="([^"]+)"', html)
    assert team_boxes == ["payments"]  # bob maintains payments, not search
    env_boxes = re.findall(r'name="environments" value="([^"]+)"', html)
    assert env_boxes == ["dev", "staging", "prod"]
    versions = re.findall(r'name="from_versions" value="(\d+)"[^>]*>\s*([^<]+?)\s*</label>', html)
    assert versions == [("2", "1.1.0"), ("1", "1.0")]
    assert '<option value="" selected>the current one (1.1.0)</option>' in html
    assert '<option value="tier=demo">' in html  # a tag suggestion from the resources
    assert 'hx-get="/fleet-upgrades/new/preview/"' in html


@pytest.mark.django_db
def test_the_preview_counts_the_matches_and_names_the_skipped(client_as, bob, estate):
    query = "?template=example-config&version=2&environments=dev&environments=staging"
    html = client_as(bob).get(PREVIEW + query).content.decode()
    assert 'data-preview="count" data-count="2"' in html
    assert "2 resources</strong> to upgrade to example-config 1.1.0" in html
    assert "1 already on 1.1.0: skipped" in html
    rows = re.findall(r'<tr data-resource="([^"]+)"', html)
    assert rows == ["pay-dev", "pay-stg", "pay-dev-new"]  # only payments: bob's team
    assert "search-dev" not in html
    assert "refusal" not in html


@pytest.mark.django_db
def test_the_preview_says_why_a_selection_is_refused(client_as, bob, estate):
    client = client_as(bob)
    same = client.get(PREVIEW + "?template=example-config&version=2&from_versions=2")
    assert 'data-count="0"' in same.content.decode()
    assert "1.1.0 → 1.1.0 changes nothing" in same.content.decode()
    theirs = client.get(PREVIEW + "?template=example-config&teams=search").content.decode()
    assert 'data-preview="error"' in theirs and "Unknown teams: search" in theirs
    assert "search-dev" not in theirs


@pytest.mark.django_db
def test_the_preview_needs_a_signed_in_user(client, estate):
    answer = client.get(PREVIEW + "?template=example-config")
    assert answer.status_code == 302 and "login" in answer["Location"]


# --- the live part: wave counter and controls --------------------------------------------


def _fleet(estate: dict[str, Any], actor: Any, **fields: Any) -> FleetUpgrade:
    return FleetUpgrade.objects.create(
        template=estate["template"],
        target_version=estate["new"],
        team=estate["resources"][0].team,
        waves=[{"name": "dev", "environments": ["dev"]}, {"name": "prod"}],
        created_by=actor,
        **fields,
    )


@pytest.mark.django_db
def test_a_finished_fleet_reads_wave_2_of_2_never_3_of_2(client_as, api_as, bob, estate):
    # The driver moves current_wave past the last wave as it completes.
    fleet = _fleet(estate, bob, status=FleetStatus.COMPLETED, current_wave=2)
    html = client_as(bob).get(f"/fleet-upgrades/{fleet.pk}/").content.decode()
    assert '<span class="fleet-wave">wave 2 of 2</span>' in html
    assert "wave 3 of 2" not in html
    body = api_as(bob).get(f"{URL}{fleet.pk}/").json()
    assert (body["current_wave"], body["wave_count"]) == (2, 2)


@pytest.mark.django_db
def test_the_live_part_carries_the_controls_and_starts_the_waves_in_place(client_as, bob, estate):
    from django.utils import timezone

    fleet = _fleet(estate, bob, status=FleetStatus.PLANNED, planned_at=timezone.now())
    client = client_as(bob)
    live = client.get(f"/fleet-upgrades/{fleet.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert live.startswith('<div id="fleet-live"') and 'hx-trigger="every 3s"' in live
    assert "Start the waves" in live
    answer = client.post(f"/fleet-upgrades/{fleet.pk}/resume/", HTTP_HX_REQUEST="true")
    assert answer.status_code == 200
    html = answer.content.decode()
    assert html.startswith('<div id="fleet-live"') and "resume done" in html
    assert "Start the waves" not in html and "Pause" in html
    fleet.refresh_from_db()
    assert fleet.status == FleetStatus.APPLYING
    # Without htmx the forms post and redirect, as before.
    again = client.post(f"/fleet-upgrades/{fleet.pk}/pause/")
    assert again.status_code == 302


# --- the CLI -----------------------------------------------------------------------------


def test_the_cli_sends_the_filters(cli, token_for, platform_admin, estate):  # noqa: F811
    # Refusals only: a fleet that starts would wake a worker a test before left running.
    token = token_for(platform_admin)
    base = ("fleet", "start", "example-config", "--version", "1.1.0", "--team", "payments")
    # Without --from-version payments' dev has pay-dev on 1.0 to move: the filter was sent.
    refused = cli(*base, "--env", "dev", "--from-version", "1.1.0", token=token)
    assert refused.exit_code != 0
    assert "every selected resource already runs version 1.1.0" in refused.stderr.lower()
    assert "1.1.0 → 1.1.0 changes nothing" in refused.stderr
    untagged = cli(*base, "--tag", "tier", token=token)
    assert untagged.exit_code != 0 and "Not a key=value tag: 'tier'" in untagged.stderr
    assert not FleetUpgrade.objects.exists()
