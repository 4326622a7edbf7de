"""The engine's parts: backend file, credentials, redaction, logs, cancel and unlock, providers."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from idp.models import AuditEvent, Environment
from idp.services import Conflict, Forbidden
from provisioning import actions
from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.crypto import decrypt_json, encrypt_json
from provisioning.engine.backend import backend_tf, credentials_env, state_key
from provisioning.engine.redact import MASK, Redactor
from provisioning.models import ResourceLock, Run, RunLogChunk

from .conftest import log_of, register_module


def new_resource(actor: Any, team: Any, name: str = "cfg", **kw: Any) -> Any:
    return actions.request_resource(
        actor=actor,
        template=kw.pop("template", "tf-echo"),
        version=None,
        team=team,
        environment=kw.pop("environment", "dev"),
        name=name,
        parameters=kw.pop("parameters", {"message": "m"}),
        **kw,
    ).resource


@pytest.mark.django_db
def test_backend_file(alice, teams, envs, echo, state) -> None:
    resource = new_resource(alice, teams["payments"])
    text = backend_tf(resource)
    assert f'key          = "teams/payments/dev/{resource.pk}.tfstate"' in text
    assert state_key(resource) == f"teams/payments/dev/{resource.pk}.tfstate"
    for line in (
        "encrypt      = true",
        "use_lockfile = true",
        "max_retries  = 1",  # IDP_STATE_BACKEND_MAX_RETRIES (tests: give up at once)
        "use_path_style              = true",
        f'endpoints = {{ s3 = "{state}" }}',
        "skip_credentials_validation = true",
        "skip_requesting_account_id  = true",
        'bucket       = "idp-terraform-state"',
    ):
        assert line in text, line


@pytest.mark.django_db
def test_role_credentials_are_short_lived_and_redacted(state) -> None:
    env = Environment.objects.create(
        slug="staging", name="Staging", aws_role_arn="arn:aws:iam::123456789012:role/idp-deploy"
    )
    creds = credentials_env(env, "idp-run-1")
    assert creds["AWS_SESSION_TOKEN"] and creds["AWS_ACCESS_KEY_ID"] != "testing"
    assert creds["AWS_ENDPOINT_URL"] == state and creds["AWS_REGION"] == "eu-west-1"
    redact = Redactor([creds["AWS_SECRET_ACCESS_KEY"], creds["AWS_SESSION_TOKEN"]])
    line = f"key={creds['AWS_SECRET_ACCESS_KEY']} token={creds['AWS_SESSION_TOKEN']}"
    assert creds["AWS_SECRET_ACCESS_KEY"] not in redact(line) and MASK in redact(line)
    assert redact("AKIAABCDEFGHIJKLMNOP and aws_secret_access_key = abc") == (
        f"{MASK} and aws_secret_access_key = {MASK}"
    )
    # The session can act: Parameter Store in the environment's account.
    ssm = boto3.client(
        "ssm",
        endpoint_url=state,
        region_name="eu-west-1",
        aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=creds["AWS_SESSION_TOKEN"],
    )
    ssm.put_parameter(Name="/idp/probe", Value="1", Type="String")


def test_encryption_round_trip(settings) -> None:
    token = encrypt_json({"password": "p@ss"})
    assert "p@ss" not in token and decrypt_json(token) == {"password": "p@ss"}
    settings.IDP_ENCRYPTION_KEY = "another key"
    assert decrypt_json(token) == {}  # a rotated key reads nothing rather than crashing
    assert encrypt_json({}) == "" and decrypt_json("") == {}


@pytest.mark.django_db
def test_read_run_log_pages(alice, teams, envs, echo) -> None:
    run = new_resource(alice, teams["payments"]).runs.get()
    parts = ["first line\n", "second line\n", "third\n"]
    offset = 0
    for seq, text in enumerate(parts):
        RunLogChunk.objects.create(run=run, seq=seq, offset=offset, text=text)
        offset += len(text)
    Run.objects.filter(pk=run.pk).update(log_size=offset)
    text, nxt, complete = actions.read_run_log(run, 0, limit=15)
    assert text == "first line\nseco" and nxt == 15 and complete is False
    text, nxt, complete = actions.read_run_log(run, nxt)
    assert text == "nd line\nthird\n" and nxt == offset and complete is False  # still queued
    Run.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED)
    assert actions.read_run_log(run, nxt) == ("", offset, True)


@pytest.mark.django_db
def test_cancel_a_queued_run_and_unlock(alice, bob, carol, teams, envs, echo, state) -> None:
    resource = new_resource(alice, teams["payments"])
    run = resource.runs.get()
    with pytest.raises(Forbidden):
        actions.cancel_run(run, actor=carol)
    actions.cancel_run(run, actor=alice)
    run.refresh_from_db()
    resource.refresh_from_db()
    assert run.status == RunStatus.CANCELLED and run.finished_at
    assert resource.status == ResourceStatus.FAILED
    with pytest.raises(Conflict):
        actions.cancel_run(run, actor=alice)

    # A lock left by a run that died: unlock clears it and the Terraform lock file.
    stuck = Run.objects.create(
        resource=resource, kind=RunKind.PLAN, status=RunStatus.RUNNING, template_version=echo
    )
    ResourceLock.objects.create(resource=resource, run=stuck)
    s3 = boto3.client("s3", endpoint_url=state, region_name="eu-west-1")
    s3.put_object(Bucket="idp-terraform-state", Key=state_key(resource) + ".tflock", Body=b"{}")
    with pytest.raises(Forbidden):
        actions.unlock(resource, actor=alice)
    actions.unlock(resource, actor=bob)
    stuck.refresh_from_db()
    assert stuck.status == RunStatus.FAILED and not ResourceLock.objects.exists()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="idp-terraform-state").get("Contents", [])]
    assert state_key(resource) + ".tflock" not in keys
    assert AuditEvent.objects.filter(action="resource.unlocked", actor=bob).exists()


@pytest.mark.django_db
def test_missing_provider_fails_with_the_fix(alice, teams, envs, state, drive) -> None:
    register_module("tf_provider")
    resource = new_resource(alice, teams["payments"], template="tf-provider", parameters={})
    (plan,) = drive(resource)
    assert plan.status == RunStatus.FAILED
    assert "registry.invalid/acme/widget" in plan.error
    assert "TF_CLI_CONFIG_FILE" in plan.error and "mirror" in plan.error
    assert resource.status == ResourceStatus.FAILED and "widget" in resource.last_error
    assert "Error:" in log_of(plan)


@pytest.mark.django_db
def test_upgrade_to_a_newer_version(alice, teams, envs, echo, state, drive) -> None:
    resource = new_resource(alice, teams["payments"])
    drive(resource)
    newer = register_module("tf_echo", changelog="v2")
    assert "upgrade" in actions.allowed_actions(resource, alice)
    run = actions.upgrade(resource, actor=alice).run
    assert run.template_version == newer
    drive(resource)
    assert resource.status == ResourceStatus.PROVISIONED
    assert resource.template_version == newer
    with pytest.raises(Conflict):
        actions.upgrade(resource, actor=alice)  # already on the current version
