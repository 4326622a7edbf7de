"""Ops commands: runs, approve, reject, unlock — through call_command, as ops would."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from idp.models import AuditEvent
from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.engine.backend import (
    ensure_state_bucket,
    platform_client,
    state_bucket,
    state_key,
)
from provisioning.models import Approval, ResourceLock


def run_cmd(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def awaiting(make_resource, make_run, envs, teams, alice):
    resource = make_resource(
        teams["payments"],
        "app-config",
        environment=envs["prod"],
        status=ResourceStatus.AWAITING_APPROVAL,
        requested_by=alice,
    )
    make_run(resource, created_by=alice, plan_hash="a" * 64, finished_at=timezone.now())
    return resource


def test_runs_table_and_status_filter(teams, make_resource, make_run, alice):
    resource = make_resource(teams["payments"], "cfg")
    make_run(resource, created_by=alice)
    make_run(resource, kind=RunKind.APPLY, status=RunStatus.FAILED)
    out = run_cmd("runs")
    lines = out.splitlines()
    assert lines[0].split() == [
        "RUN",
        "RESOURCE",
        "NAME",
        "KIND",
        "STATUS",
        "BY",
        "CREATED",
        "DURATION",
    ]
    assert len(lines) == 3 and "payments/dev/cfg" in out and "alice" in out
    failed = run_cmd("runs", "--status", "failed").splitlines()
    assert len(failed) == 2 and "apply" in failed[1] and "system" in failed[1]
    assert len(run_cmd("runs", "--limit", "1").splitlines()) == 2
    assert run_cmd("runs", "--status", "cancelled") == "No runs.\n"
    with pytest.raises(CommandError):
        call_command("runs", "--status", "bogus")
    with pytest.raises(CommandError, match="--limit"):
        call_command("runs", "--limit", "0")


def test_approve_as_user(awaiting, bob):
    out = run_cmd("approve", str(awaiting.pk), "--as", "bob", "--reason", "ok by ops")
    assert f"{awaiting.name} approved; the apply is queued." in out
    awaiting.refresh_from_db()
    assert awaiting.status == ResourceStatus.APPLYING
    assert Approval.objects.get().reason == "ok by ops"
    with pytest.raises(CommandError, match="Conflict"):
        call_command("approve", str(awaiting.pk), "--as", "bob")


def test_approve_refusals_are_clear(awaiting, alice, bob):
    with pytest.raises(CommandError, match="Not allowed"):
        call_command("approve", str(awaiting.pk), "--as", "alice")
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("approve", str(awaiting.pk), "--as", "nobody")
    with pytest.raises(CommandError, match="No resource with id 999"):
        call_command("approve", "999", "--as", "bob")
    with pytest.raises(CommandError, match="must be a number"):
        call_command("approve", "abc", "--as", "bob")
    assert not Approval.objects.exists()


def test_reject_needs_reason(awaiting, bob):
    with pytest.raises(CommandError):
        call_command("reject", str(awaiting.pk), "--as", "bob")
    with pytest.raises(CommandError, match="reason"):
        call_command("reject", str(awaiting.pk), "--as", "bob", "--reason", " ")
    out = run_cmd("reject", str(awaiting.pk), "--as", "bob", "--reason", "no")
    assert f"The plan of {awaiting.name} was rejected; its change was discarded." in out
    awaiting.refresh_from_db()
    assert awaiting.status == ResourceStatus.REJECTED


def test_unlock_clears_a_stale_lock_with_an_audit_event(aws, teams, make_resource, make_run):
    resource = make_resource(teams["payments"], "stuck", status=ResourceStatus.APPLYING)
    run = make_run(resource, kind=RunKind.APPLY, status=RunStatus.RUNNING)
    ResourceLock.objects.create(resource=resource, run=run)
    # Terraform's own lock file in the state bucket (on the moto server) goes too.
    ensure_state_bucket()
    s3 = platform_client("s3")
    lock_key = state_key(resource) + ".tflock"
    s3.put_object(Bucket=state_bucket(), Key=lock_key, Body=b"{}")
    assert "Unlocked" in run_cmd("unlock", str(resource.pk))
    assert not ResourceLock.objects.exists()
    listed = s3.list_objects_v2(Bucket=state_bucket(), Prefix=lock_key)
    assert listed.get("KeyCount", 0) == 0
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert AuditEvent.objects.filter(
        action="resource.unlocked", target_id=str(resource.pk)
    ).exists()
    with pytest.raises(CommandError, match="No resource"):
        call_command("unlock", "424242")
