"""State backups on a schedule, kept for N generations, and `manage.py restore_state`: a
lost state comes back from the newest generation and the next plan finds nothing to change;
an older generation comes back as it was."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from provisioning import actions
from provisioning.choices import ResourceStatus, RunStatus
from provisioning.engine.backend import backup_generations, state_bucket, state_key
from provisioning.engine.housekeeping import back_up_states

from .engine_procs import Stack, drive

# The recovery database, broker, moto server and processes (the `stack` fixture).
pytest_plugins = ["tests.recovery.engine_procs"]

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(240)]


def test_backups_keep_generations_and_restore_brings_a_state_back(stack: Stack) -> None:
    stack.settings.IDP_STATE_BACKUP_BUCKET = "idp-state-backups"
    stack.settings.IDP_STATE_BACKUP_GENERATIONS = 2
    s3 = boto3.client("s3", endpoint_url=stack.moto.url, region_name="eu-west-1")
    s3.create_bucket(
        Bucket="idp-state-backups", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    team, user = stack.member()
    resource = stack.request(user, team, "tf_echo", {"message": "one"})
    drive(resource)
    assert resource.status == ResourceStatus.PROVISIONED
    oldest = back_up_states()["prefix"]  # what the beat entry runs

    with transaction.atomic():
        actions.change_parameters(resource, {"message": "two"}, actor=user)
    drive(resource)
    assert resource.outputs["echo"] == "two"
    out = io.StringIO()
    call_command("backup_state", stdout=out)  # the same by hand
    # Every state of the bucket is copied: this one's, and any an earlier test of the
    # shared local AWS API left there.
    assert "state objects to backups/" in out.getvalue() and state_key(resource) in out.getvalue()
    newest = back_up_states()["prefix"]
    assert backup_generations() == [newest, backup_generations()[1]]  # two kept
    assert oldest not in backup_generations()

    # The state object is lost; the newest generation brings it back.
    s3.delete_object(Bucket=state_bucket(), Key=state_key(resource))
    out = io.StringIO()
    call_command("restore_state", str(resource.pk), stdout=out)
    assert f"generation 1 ({newest})" in out.getvalue()
    with transaction.atomic():
        actions.replan(resource, actor=user)
    (plan,) = drive(resource)
    assert plan.status == RunStatus.SUCCEEDED and plan.plan_summary["has_changes"] is False
    assert resource.status == ResourceStatus.PROVISIONED
    restored = json.loads(
        s3.get_object(Bucket=state_bucket(), Key=state_key(resource))["Body"].read()
    )
    assert restored["outputs"]["echo"]["value"] == "two"

    # Plain refusals, non-zero exit: a generation that is not kept, a run at work.
    with pytest.raises(CommandError, match="no backup generation 3"):
        call_command("restore_state", str(resource.pk), "--generation", "3")
    with transaction.atomic():
        actions.replan(resource, actor=user)
    with pytest.raises(CommandError, match="queued or running run"):
        call_command("restore_state", str(resource.pk))
    drive(resource)


def test_restoring_an_older_generation_shows_the_difference(stack: Stack) -> None:
    stack.settings.IDP_STATE_BACKUP_GENERATIONS = 5
    team, user = stack.member()
    resource = stack.request(user, team, "tf_echo", {"message": "before"})
    drive(resource)
    back_up_states()
    with transaction.atomic():
        actions.change_parameters(resource, {"message": "after"}, actor=user)
    drive(resource)
    back_up_states()

    call_command("restore_state", str(resource.pk), "--generation", "2", stdout=io.StringIO())
    with transaction.atomic():
        actions.replan(resource, actor=user)
    plan, apply = drive(resource)
    assert plan.plan_summary["has_changes"] is True, plan.plan_text  # the state said "before"
    assert apply.status == RunStatus.SUCCEEDED and resource.outputs["echo"] == "after"
