"""One name per version on every surface: a tagged version (`v1.1.0`) is `1.1.0` in the
API's `version_label` fields, on the portal's resource list, resource page, run page, inbox
and template pages; never `v1.1.0`, `@v1.1.0` or the internal number beside it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from catalog.models import Template, TemplateVersion
from provisioning.choices import ResourceStatus
from provisioning.models import Resource, Run
from tests import helpers
from tests.utils import assert_ok

from .conftest import make_version

NEEDS_ONE = {
    "approvals": 1,
    "platform_admin": False,
    "reasons": ["prod requires 1 approval"],
    "estimated_monthly_cost": "6.00",
}
# What a page must never show for these versions: the raw tag, `slug@tag`, `v<number>`.
MIXTURES = re.compile(r"v1\.0\.2|v1\.1\.0|ux-note@|\bv[12]\b")


def _tag(version: TemplateVersion, label: str) -> TemplateVersion:
    TemplateVersion.objects.filter(pk=version.pk).update(label=label, semver=label[1:])
    version.refresh_from_db()
    return version


@pytest.fixture
def ux_note(db: None) -> Template:
    """`ux-note` from a template source: tags v1.0.2 (number 1) and v1.1.0 (number 2, current)."""
    template = Template.objects.create(slug="ux-note", title="UX note", category="docs")
    _tag(make_version(template, 1), "v1.0.2")
    _tag(make_version(template, 2, extra="# 1.1.0\n"), "v1.1.0")
    template.refresh_from_db()
    return template


@pytest.fixture
def upgrade(ux_note: Template, envs, teams, alice, make_run) -> Run:
    """payments' provisioned prod note at 1.0.2 with a plan to 1.1.0 awaiting approval."""
    old, new = ux_note.versions.get(number=1), ux_note.versions.get(number=2)
    resource = helpers.make_resource(
        teams["payments"],
        "notes",
        template=ux_note,
        template_version=old,
        environment=envs["prod"],
        parameters={"message": "hi"},
        status=ResourceStatus.AWAITING_APPROVAL,
        provisioned_at=timezone.now() - timedelta(days=1),
        requested_by=alice,
    )
    plan = make_run(
        resource,
        created_by=alice,
        plan_hash="a" * 64,
        finished_at=timezone.now() - timedelta(minutes=5),
        approval_requirement=NEEDS_ONE,
        plan_summary={"add": 0, "change": 1, "destroy": 0, "resources": []},
    )
    Run.objects.filter(pk=plan.pk).update(template_version=new)
    plan.refresh_from_db()
    return plan


def test_the_resource_api_names_versions_by_label(upgrade: Run, api_as, alice, bob) -> None:
    api = api_as(alice)
    resource: Resource = upgrade.resource
    rows = assert_ok(api.get("/api/v1/resources/"))["results"]
    assert [(r["name"], r["version"], r["version_label"]) for r in rows] == [("notes", 1, "1.0.2")]
    detail = assert_ok(api.get(f"/api/v1/resources/{resource.pk}/"))
    assert (detail["version"], detail["version_label"]) == (1, "1.0.2")
    assert (detail["proposed"]["version"], detail["proposed"]["version_label"]) == (2, "1.1.0")
    assert detail["latest_plan"]["template_version"] == 2
    assert detail["latest_plan"]["template_version_label"] == "1.1.0"
    run = assert_ok(api.get(f"/api/v1/runs/{upgrade.pk}/"))
    assert (run["template_version"], run["template_version_label"]) == (2, "1.1.0")
    listed_runs = assert_ok(api.get("/api/v1/runs/"))["results"]
    assert [r["template_version_label"] for r in listed_runs] == ["1.1.0"]

    # The inbox names both sides of the upgrade.
    items = assert_ok(api_as(bob).get("/api/v1/approvals/"))["results"]
    assert [
        (i["version"], i["version_label"], i["current_version"], i["current_version_label"])
        for i in items
    ] == [(2, "1.1.0", 1, "1.0.2")]


def test_a_new_resource_has_no_current_version_label(
    awaiting, api_as, bob, make_resource, teams
) -> None:
    items = assert_ok(api_as(bob).get("/api/v1/approvals/"))["results"]
    assert [(i["version_label"], i["current_version_label"]) for i in items] == [("v1", None)]
    # A local folder's version (example-config, no tag) is `v` and its number everywhere.
    rows = assert_ok(api_as(bob).get("/api/v1/resources/"))["results"]
    assert {r["version_label"] for r in rows} == {"v1"}


def test_the_template_api_names_versions_by_label(ux_note: Template, api_as, alice) -> None:
    api = api_as(alice)
    listed = assert_ok(api.get("/api/v1/templates/"))["results"]
    row = next(t for t in listed if t["slug"] == "ux-note")
    assert (row["current_version"], row["version_label"]) == (2, "1.1.0")
    detail = assert_ok(api.get("/api/v1/templates/ux-note/"))
    assert detail["version_label"] == "1.1.0"
    # The raw tag stays available as `label`, the internal number as `number`.
    assert [(v["number"], v["version_label"], v["label"]) for v in detail["versions"]] == [
        (2, "1.1.0", "v1.1.0"),
        (1, "1.0.2", "v1.0.2"),
    ]
    one = assert_ok(api.get("/api/v1/templates/ux-note/versions/1/"))
    assert (one["number"], one["version_label"]) == (1, "1.0.2")


def test_a_request_may_name_the_version_as_shown(ux_note: Template, envs, api_as, alice) -> None:
    answer = api_as(alice).post(
        "/api/v1/resources/",
        {
            "template": "ux-note",
            "team": "payments",
            "environment": "dev",
            "name": "by-label",
            "version": "1.0.2",
            "parameters": {"message": "hi"},
        },
        format="json",
    )
    assert answer.status_code == 201, answer.content
    assert (answer.json()["version"], answer.json()["version_label"]) == (1, "1.0.2")


def _page(client: Any, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def _clean(page: str, url: str) -> None:
    mixed = sorted(set(MIXTURES.findall(page)))
    assert not mixed, f"{url} names a version {mixed}"


def test_portal_pages_use_the_one_name(upgrade: Run, client_as, alice, bob) -> None:
    resource = upgrade.resource
    browser = client_as(alice)
    listing = _page(browser, "/resources/")
    assert re.search(r"ux-note\s*<span[^>]*>1\.0\.2</span>", listing), "the list row's version"
    _clean(listing, "/resources/")

    page = _page(browser, f"/resources/{resource.pk}/")
    assert "ux-note 1.0.2" in page  # what is current
    assert re.search(r"Proposed change <span[^>]*>1\.1\.0 ·", page)  # what is proposed
    _clean(page, "resource page")

    run_page = _page(browser, f"/resources/runs/{upgrade.pk}/")
    assert "ux-note 1.1.0" in run_page
    _clean(run_page, "run page")

    inbox = _page(client_as(bob), "/resources/approvals/")
    assert "ux-note 1.1.0 (from 1.0.2)" in inbox
    _clean(inbox, "approvals")

    for url in ("/catalog/", "/catalog/templates/ux-note/", "/catalog/templates/ux-note/request/"):
        text = _page(browser, url)
        assert "1.1.0" in text, url
        _clean(text, url)


def test_the_upgrade_form_offers_versions_by_name(ux_note: Template, envs, teams) -> None:
    from provisioning.forms import UpgradeForm

    resource = helpers.make_resource(
        teams["payments"],
        "n",
        template=ux_note,
        template_version=ux_note.versions.get(number=1),
        environment=envs["dev"],
    )
    choices = UpgradeForm(resource=resource).fields["version"].choices
    assert list(choices) == [(2, "1.1.0"), (1, "1.0.2 (current pin)")]
