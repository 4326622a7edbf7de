"""The CLI prints a version by its one name (`1.1.0` for tag v1.1.0, `v3` for a local
folder's version 3): `idp resources list/show`, `idp templates list/show`, `idp approvals
list`, `idp fleet list/status`. Over real HTTP against a live server."""

from __future__ import annotations

import json
import re

from fleet.choices import FleetStatus
from fleet.models import FleetItem, FleetUpgrade
from tests.provisioning.surfaces.conftest import (  # noqa: F401 - fixtures
    envs,
    make_run,
)
from tests.provisioning.surfaces.test_version_label import (  # noqa: F401 - fixtures
    upgrade,
    ux_note,
)

# A version printed the old ways: `slug@1`, `slug@v1.0.2`, the raw tag, or `v<number>`.
OLD_FORMS = re.compile(r"ux-note@|v1\.0\.2|v1\.1\.0|\bv[12]\b")


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.split("│")]


def _clean(text: str) -> str:
    assert not OLD_FORMS.search(text), text
    return text


def test_resources_list_and_show_print_the_label(cli, upgrade, alice, token_for):  # noqa: F811
    token = token_for(alice)
    listed = cli("resources", "list", token=token)
    assert listed.exit_code == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if "notes" in line)
    assert _cells(row)[4:6] == ["ux-note", "1.0.2"], row
    _clean(listed.stdout)

    shown = cli("resources", "show", str(upgrade.resource_id), token=token)
    assert shown.exit_code == 0, shown.stderr
    assert re.search(r"^\s*template\s+ux-note 1\.0\.2\s*$", shown.stdout, re.M), shown.stdout
    assert re.search(r"proposed\s+1\.1\.0 by alice", shown.stdout), shown.stdout
    _clean(shown.stdout)

    as_json = json.loads(
        cli("resources", "show", str(upgrade.resource_id), "-o", "json", token=token).stdout
    )
    assert (as_json["version"], as_json["version_label"]) == (1, "1.0.2")


def test_templates_print_the_label(cli, ux_note, alice, token_for):  # noqa: F811
    token = token_for(alice)
    listed = cli("templates", "list", token=token)
    assert listed.exit_code == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if "ux-note" in line)
    assert _cells(row)[-1] == "1.1.0", row
    shown = cli("templates", "show", "ux-note", token=token)
    assert shown.exit_code == 0, shown.stderr
    assert re.search(r"^\s*version\s+1\.1\.0\s*$", shown.stdout, re.M), shown.stdout
    _clean(listed.stdout + shown.stdout)


def test_approvals_print_both_sides_by_label(cli, upgrade, bob, token_for):  # noqa: F811
    listed = cli("approvals", "list", token=token_for(bob))
    assert listed.exit_code == 0, listed.stderr
    assert "ux-note 1.1.0 (from 1.0.2)" in listed.stdout, listed.stdout
    _clean(listed.stdout)


def test_fleet_prints_the_target_by_label(cli, upgrade, bob, teams, token_for):  # noqa: F811
    resource = upgrade.resource
    fleet = FleetUpgrade.objects.create(
        template=resource.template,
        target_version=upgrade.template_version,
        team=teams["payments"],
        selection={"kind": "team", "teams": ["payments"]},
        waves=[{"name": "prod", "environments": ["prod"]}],
        status=FleetStatus.PLANNING,
        created_by=bob,
    )
    FleetItem.objects.create(fleet=fleet, resource=resource, from_version=resource.template_version)
    token = token_for(bob)
    listed = cli("fleet", "list", token=token)
    assert listed.exit_code == 0, listed.stderr
    assert "ux-note 1.1.0" in listed.stdout, listed.stdout
    status = cli("fleet", "status", str(fleet.pk), token=token)
    assert status.exit_code == 0, status.stderr
    assert f"Fleet upgrade {fleet.pk}: ux-note → 1.1.0 " in status.stdout, status.stdout
    _clean(listed.stdout + status.stdout)
    as_json = json.loads(cli("fleet", "status", str(fleet.pk), "-o", "json", token=token).stdout)
    assert as_json["target_version_label"] == "1.1.0"
    assert [(i["from_version"], i["from_version_label"]) for i in as_json["items"]] == [
        (1, "1.0.2")
    ]
