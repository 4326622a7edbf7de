"""`idp resources accept-drift ID` and `idp resources reconcile ID` over real HTTP; `show`
prints the drift expected -> actual."""

# ruff: noqa: F811 - the CLI fixtures are imported by name, then asked for by name
from __future__ import annotations

import json

import pytest

from idp.models import AuditEvent
from provisioning.choices import ResourceStatus
from tests.cli.conftest import cli, token_for  # noqa: F401 - fixtures

from ..engine.conftest import request_module, settle
from .conftest import change_behind_the_back, check_drift

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_accept_then_reconcile_from_the_cli(
    cli, token_for, alice, carol, teams, envs, echo, state
) -> None:
    token = token_for(alice)
    resource = request_module(alice, teams["payments"], message="as requested")
    settle(resource, ResourceStatus.PROVISIONED)
    change_behind_the_back(state, resource, "meant to be")
    check_drift(resource)

    shown = cli("resources", "show", str(resource.pk), token=token)
    assert shown.exit_code == 0, shown.stderr
    assert 'output.echo: "as requested" -> "meant to be"' in shown.stdout

    other = cli("resources", "accept-drift", str(resource.pk), token=token_for(carol))
    assert other.exit_code != 0 and "not found" in other.stderr.lower()

    accepted = cli("resources", "accept-drift", str(resource.pk), "-o", "json", token=token)
    assert accepted.exit_code == 0, accepted.stderr
    assert json.loads(accepted.stdout)["status"] in ("planning", "applying", "provisioned")
    settle(resource, ResourceStatus.PROVISIONED)
    assert not resource.drifted and resource.outputs["echo"] == "meant to be"
    assert AuditEvent.objects.filter(action="resource.drift_accepted").count() == 1

    change_behind_the_back(state, resource, "changed by hand")
    check_drift(resource)
    assert resource.drifted
    reconciled = cli("resources", "reconcile", str(resource.pk), token=token)
    assert reconciled.exit_code == 0, reconciled.stderr
    resource.refresh_from_db()
    settle(resource, ResourceStatus.PROVISIONED)
    assert not resource.drifted and resource.outputs["echo"] == "as requested"

    again = cli("resources", "reconcile", str(resource.pk), token=token)
    assert again.exit_code != 0 and "No drift" in again.stderr
