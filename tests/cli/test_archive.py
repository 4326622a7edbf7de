"""`idp resources archive|unarchive ID` and `idp resources list --archived`, over real HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest

from catalog.models import Template
from catalog.services.sync import sync_templates
from idp.models import AuditEvent, Environment
from provisioning.choices import ResourceStatus
from provisioning.models import Resource

from .conftest import one_error_line


@pytest.fixture
def rows(db: None, teams: dict) -> dict[str, Resource]:
    """A provisioned and a failed resource of payments, one of search (rows, no Terraform)."""
    report = sync_templates(only=["example-config"])
    assert report.loaded == ["example-config"], report.failed
    template = Template.objects.get(slug="example-config")
    dev = Environment.objects.create(slug="dev", name="Dev", order=1)

    def make(team: str, name: str, status: str) -> Resource:
        return Resource.objects.create(
            team=teams[team],
            template=template,
            template_version=template.current_version,
            environment=dev,
            name=name,
            status=status,
            parameters={"message": "hi"},
        )

    return {
        "live": make("payments", "live-one", ResourceStatus.PROVISIONED),
        "failed": make("payments", "broken-one", ResourceStatus.FAILED),
        "theirs": make("search", "their-broken", ResourceStatus.FAILED),
    }


def names(result: Any) -> list[str]:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return [r["name"] for r in json.loads(result.stdout)]


def test_archive_hides_from_list_and_unarchive_brings_back(cli, alice, token_for, rows):
    token = token_for(alice)
    failed = rows["failed"]
    assert names(cli("resources", "list", "-o", "json", token=token)) == [
        "broken-one",
        "live-one",
    ]

    archived = cli("resources", "archive", str(failed.pk), "-o", "json", token=token)
    assert archived.exit_code == 0, archived.stderr
    body = json.loads(archived.stdout)
    assert body["status"] == "failed" and body["allowed_actions"] == ["unarchive"]
    assert names(cli("resources", "list", "-o", "json", token=token)) == ["live-one"]
    assert names(cli("resources", "list", "--archived", "-o", "json", token=token)) == [
        "broken-one"
    ]
    shown = cli("resources", "show", str(failed.pk), token=token)  # by id, still there
    assert shown.exit_code == 0 and "broken-one" in shown.stdout and "unarchive" in shown.stdout

    again = cli("resources", "archive", str(failed.pk), token=token)
    assert again.exit_code == 1
    assert "already archived" in one_error_line(again)

    back = cli("resources", "unarchive", str(failed.pk), token=token)
    assert back.exit_code == 0, back.stderr
    assert names(cli("resources", "list", "-o", "json", token=token)) == [
        "broken-one",
        "live-one",
    ]
    actions = AuditEvent.objects.filter(target_id=str(failed.pk), actor_name="alice")
    assert set(actions.values_list("action", flat=True)) == {
        "resource.archived",
        "resource.unarchived",
    }


def test_archive_refusals_are_one_line(cli, alice, token_for, rows):
    token = token_for(alice)
    live = cli("resources", "archive", str(rows["live"].pk), token=token)
    assert live.exit_code == 1
    assert "Only a failed or rejected request can be archived" in one_error_line(live)
    theirs = cli("resources", "archive", str(rows["theirs"].pk), token=token)
    assert theirs.exit_code == 4  # another team's: not found
    assert Resource.objects.filter(archived_at__isnull=False).count() == 0
