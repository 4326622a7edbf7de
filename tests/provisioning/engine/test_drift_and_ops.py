"""Drift after a change behind the platform's back; the state-backend ops commands."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from django.core.management import call_command

from idp import services as idp_services
from idp.models import AuditEvent
from provisioning import actions
from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.crypto import decrypt_json
from provisioning.engine.backend import state_key

from .conftest import request_module


def provision(alice, teams, drive, name: str = "cfg"):
    resource = request_module(alice, teams["payments"], name=name, message="as requested")
    drive(resource)
    assert resource.status == ResourceStatus.PROVISIONED
    return resource


@pytest.mark.django_db
@pytest.mark.slow
def test_drift_detected_after_a_state_edit(alice, teams, envs, echo, state, drive) -> None:
    resource = provision(alice, teams, drive)
    out = io.StringIO()
    call_command("detect_drift", "--now", stdout=out)
    assert "in sync" in out.getvalue()
    resource.refresh_from_db()
    assert resource.drifted is False and resource.drift_checked_at
    assert resource.status == ResourceStatus.PROVISIONED

    # Someone edits the state directly: the echoed value is no longer what was requested.
    s3 = boto3.client("s3", endpoint_url=state, region_name="eu-west-1")
    key = state_key(resource)
    doc = json.loads(s3.get_object(Bucket="idp-terraform-state", Key=key)["Body"].read())
    attrs = doc["resources"][0]["instances"][0]["attributes"]
    attrs["input"]["value"] = attrs["output"]["value"] = "changed by hand"
    doc["outputs"]["echo"]["value"] = "changed by hand"
    doc["serial"] += 1
    s3.put_object(Bucket="idp-terraform-state", Key=key, Body=json.dumps(doc).encode())

    out = io.StringIO()
    call_command("detect_drift", str(resource.pk), "--now", stdout=out)
    assert "DRIFTED" in out.getvalue() and "echo" in out.getvalue()
    resource.refresh_from_db()
    run = resource.runs.filter(kind=RunKind.DRIFT).order_by("-pk").first()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert resource.drifted is True
    assert resource.drift_details["outputs"] == ["echo"]
    assert resource.status == ResourceStatus.PROVISIONED  # a drift check changes nothing
    assert AuditEvent.objects.filter(action="resource.drift_detected").exists()

    # A re-plan and apply bring it back in line and clear the flag.
    actions.replan(resource, actor=alice)
    plan, apply = drive(resource)
    assert plan.plan_summary["change"] == 1, plan.plan_summary
    assert apply.status == RunStatus.SUCCEEDED
    assert resource.drifted is False and resource.outputs["echo"] == "as requested"


@pytest.mark.django_db
@pytest.mark.slow
def test_change_parameters_and_noop_replan(alice, teams, envs, echo, state, drive) -> None:
    resource = request_module(
        alice, teams["payments"], parameters={"message": "first", "secret": "keep-me-1"}
    )
    drive(resource)
    with pytest.raises(idp_services.ServiceError) as err:
        actions.change_parameters(resource, {"message": 7}, actor=alice)
    assert "parameters.message" in err.value.detail
    actions.change_parameters(resource, {"message": "second"}, actor=alice)
    plan, apply = drive(resource)
    assert plan.plan_summary["change"] == 1 and apply.status == RunStatus.SUCCEEDED
    assert resource.parameters == {"message": "second"}
    assert resource.outputs["echo"] == "second"
    # The sensitive parameter left out of the change kept its value.
    assert decrypt_json(resource.sensitive_outputs) == {"token": "tok-keep-me-1"}
    actions.replan(resource, actor=alice)
    (noop,) = drive(resource)  # nothing changed: no apply needed
    assert noop.plan_summary["has_changes"] is False
    assert resource.status == ResourceStatus.PROVISIONED


@pytest.mark.django_db
def test_state_backend_commands(alice, teams, envs, echo, state, drive) -> None:
    s3 = boto3.client("s3", endpoint_url=state, region_name="eu-west-1")
    out = io.StringIO()
    call_command("ensure_state_backend", stdout=out)
    assert "idp-terraform-state" in out.getvalue()
    assert s3.get_bucket_versioning(Bucket="idp-terraform-state")["Status"] == "Enabled"
    rules = s3.get_bucket_encryption(Bucket="idp-terraform-state")[
        "ServerSideEncryptionConfiguration"
    ]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket="idp-terraform-state")
    assert all(block["PublicAccessBlockConfiguration"].values())

    resource = provision(alice, teams, drive)
    out = io.StringIO()
    call_command("backup_state", "--prefix", "backups/test/", stdout=out)
    assert "Copied 1 state objects" in out.getvalue()
    original = s3.get_object(Bucket="idp-terraform-state", Key=state_key(resource))
    copy = s3.get_object(Bucket="idp-terraform-state", Key=f"backups/test/{state_key(resource)}")
    assert copy["Body"].read() == original["Body"].read()
