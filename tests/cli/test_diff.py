"""`idp resources diff` against a live server: the latest plan of a resource changed from
"hello" to "changed" (real Terraform on `tf_echo`, S3 state on moto), as text and JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from idp.models import Environment
from provisioning import actions
from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.engine.backend import ensure_state_bucket
from provisioning.models import Run
from provisioning.plan_diff import plan_changes
from tests.helpers import make_resource
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


def test_diff_reads_a_nested_change_leaf_by_leaf(cli, bob, teams, token_for):
    """An object's and a list's change print as their changed leaves, never the whole
    object on both sides; the unchanged keys fold, a secret leaf reads `(sensitive)`."""
    tags = {"idp:environment": "dev", "idp:resource": "note-a"}
    change = {
        "actions": ["update"],
        "before": {"input": {"tags": tags, "pw": SECRET}, "ports": [22, 80]},
        "after": {
            "input": {"tags": tags, "pw": SECRET + "!", "color": "yellow"},
            "ports": [22, 8080],
        },
        "after_unknown": {},
        "before_sensitive": {"input": {"pw": True}},
        "after_sensitive": {"input": {"pw": True}},
    }
    resource = make_resource(teams["payments"], "note-a")
    plan = Run.objects.create(
        resource=resource,
        kind=RunKind.PLAN,
        status=RunStatus.SUCCEEDED,
        template_version=resource.template_version,
        plan_changes=plan_changes(
            {"resource_changes": [{"address": "terraform_data.config", "change": change}]}
        ),
        plan_summary={"add": 0, "change": 1, "destroy": 0},
    )
    result = cli("resources", "diff", str(resource.pk), "--run", str(plan.pk), token=token_for(bob))
    assert result.exit_code == 0, (result.stdout, result.stderr)
    out = result.stdout
    assert '    ~ input.color: null -> "yellow"\n' in out
    assert "    ~ input.pw: (sensitive) -> (sensitive)\n" in out
    assert "    ~ ports[1]: 80 -> 8080\n" in out
    assert "ports[0]" not in out and "idp:resource" not in out and "input: {" not in out
    assert SECRET not in out
    as_json = cli(
        "resources", "diff", str(resource.pk), "--run", str(plan.pk), "--json", token=token_for(bob)
    )
    (entry,) = json.loads(as_json.stdout)["changes"]
    assert [leaf["path"] for leaf in entry["leaves"]] == ["input.color", "input.pw", "ports[1]"]
    assert SECRET not in as_json.stdout
