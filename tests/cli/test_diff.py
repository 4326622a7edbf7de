"""`idp resources diff` against a live server: the latest plan of a resource changed from
"hello" to "changed" (real Terraform on `tf_echo`, S3 state on moto), as text and JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from idp.models import Environment
from provisioning import actions
from provisioning.choices import ResourceStatus
from provisioning.engine.backend import ensure_state_bucket
from tests.provisioning.engine.conftest import register_module, request_module, settle

from .conftest import one_error_line

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SECRET = "cli-secret-param-5150"


@pytest.fixture
def changed(aws: str, settings: Any, tmp_path: Path, alice, bob, teams) -> Any:
    """A prod resource applied with "hello", whose change to "changed" awaits approval."""
    settings.IDP_WORK_DIR = tmp_path / "runs"
    settings.IDP_PLUGIN_CACHE_DIR = tmp_path.parent / "plugin-cache"
    ensure_state_bucket()
    Environment.objects.create(slug="prod", name="Prod", requires_approval=True, order=3)
    register_module("tf_echo")
    resource = request_module(alice, teams["payments"], env="prod", name="greeting")
    settle(resource, ResourceStatus.AWAITING_APPROVAL)
    actions.approve(resource, actor=bob)
    settle(resource, ResourceStatus.PROVISIONED)
    actions.change_parameters(resource, {"message": "changed", "secret": SECRET}, actor=alice)
    settle(resource, ResourceStatus.AWAITING_APPROVAL)
    return resource


def test_diff_prints_the_latest_plan_like_terraform(cli, changed, bob, carol, token_for):
    token = token_for(bob)
    result = cli("resources", "diff", str(changed.pk), token=token)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    out = result.stdout
    assert "~ terraform_data.echo (update)" in out
    assert '~ input: "hello" -> "changed"' in out
    assert '~ output: "hello" -> (known after apply)' in out
    assert "unchanged attributes hidden" in out
    assert '~ token: "********" -> "********"' in out
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in out
    assert "\x1b[" not in out and SECRET not in out  # not a terminal: no colour codes

    everything = cli("resources", "diff", str(changed.pk), "--all", "--no-color", token=token)
    assert everything.exit_code == 0 and "      id: " in everything.stdout

    as_json = cli("resources", "diff", str(changed.pk), "--json", token=token)
    assert as_json.exit_code == 0, as_json.stderr
    body = json.loads(as_json.stdout)
    (echo,) = body["changes"]
    assert (echo["before"]["input"], echo["after"]["input"]) == ("hello", "changed")
    assert SECRET not in as_json.stdout

    hidden = cli("resources", "diff", str(changed.pk), token=token_for(carol))
    assert hidden.exit_code == 4  # another team's resource: not found
    one_error_line(hidden)


def test_diff_of_a_run_of_another_resource_is_refused(cli, changed, bob, token_for):
    other = request_module(bob, changed.team, env="prod", name="other")
    plan = other.runs.get()
    result = cli("resources", "diff", str(changed.pk), "--run", str(plan.pk), token=token_for(bob))
    assert result.exit_code == 1
    assert "is not a plan of resource" in one_error_line(result)
