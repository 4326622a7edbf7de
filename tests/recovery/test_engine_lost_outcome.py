"""A worker SIGKILLed right after an apply wrote its new state: the reaper finds the state
moved (serial/lineage against what the run started from), so the outcome is unknown, not
"failed": the proposal is kept and a refresh-and-plan of the same change shows no changes,
nothing is reverted. The same inside a fleet wave. And the plan file the apply wrote is
0600 and gone once the run is reaped.

The kill comes at an exact point: the local AWS API (moto, in this process) stores the
apply's state object, then the test kills the worker's pool child before Terraform's
answer reaches it; only the HTTP boundary is hooked, nothing inside the platform."""

from __future__ import annotations

import json
import os
import signal
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from provisioning import actions
from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.engine.backend import read_state, state_key
from provisioning.models import Resource, Run
from tests.helpers import wait_for

from .engine_procs import Stack

pytest_plugins = ["tests.recovery.engine_procs"]

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(420)]

HEARTBEAT_TIMEOUT = 4


class KillOnStateWrite:
    """Kill a worker process right after moto stored a given resource's state object."""

    def __init__(self) -> None:
        self.key = ""
        self.find: Any = None
        self.pid = 0
        self.plan_file_mode: int | None = None
        self.plan_file: str = ""
        self.fired = threading.Event()

    def arm(self, key: str, find: Any) -> None:
        """Kill on the next write of `key`; `find()` names then the (worker pid, plan file)
        of the apply writing it, or (0, "") when no apply of that resource runs."""
        self.key, self.find = key, find

    def after_put(self, key: str) -> None:
        if not self.key or key != self.key or self.fired.is_set():
            return
        self.pid, self.plan_file = self.find()
        if not self.pid:
            return
        try:
            self.plan_file_mode = stat.S_IMODE(os.stat(self.plan_file).st_mode)
        except OSError:
            self.plan_file_mode = None
        os.kill(self.pid, signal.SIGKILL)
        self.fired.set()


@pytest.fixture
def killer(monkeypatch: pytest.MonkeyPatch) -> Iterator[KillOnStateWrite]:
    from moto.s3.models import S3Backend

    hook = KillOnStateWrite()
    original = S3Backend.put_object

    def put_object(self: Any, bucket_name: str, key_name: str, *args: Any, **kw: Any) -> Any:
        stored = original(self, bucket_name, key_name, *args, **kw)
        hook.after_put(key_name)
        return stored

    monkeypatch.setattr(S3Backend, "put_object", put_object)
    yield hook


def state_doc(resource: Resource) -> dict[str, Any]:
    data = read_state(resource)
    assert data is not None
    return dict(json.loads(data))


def arm_on_apply(stack: Stack, killer: KillOnStateWrite, resource: Resource, after: int) -> Run:
    """Wait for the resource's next apply to run, then arm the kill on its state write."""

    def running_apply() -> Run | None:
        return (
            resource.runs.filter(
                kind=RunKind.APPLY, status=RunStatus.RUNNING, pk__gt=after, worker__contains=":"
            )
            .order_by("-pk")
            .first()
        )

    def find() -> tuple[int, str]:
        # Read from the moto thread: no database there, so the worker's pool child and the
        # newest plan file stand for the apply (one worker, concurrency 1).
        workers = [p.proc.pid for p in stack.procs if p.name.startswith("worker")]
        children = [
            int(c)
            for pid in workers
            for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        ]
        plans = sorted(stack.work_dir.glob("run-*/plan.tfplan"), key=lambda f: f.stat().st_mtime)
        return (children[0], str(plans[-1]) if plans else "") if children else (0, "")

    # Armed before the apply starts: a warm Terraform writes the state within a tenth of a
    # second of the apply's start, sooner than a poll for the running apply could arm it.
    killer.arm(state_key(resource), find)
    return wait_for(running_apply, "the apply to start", timeout=150, every=0.05)


def wait_status(resource: Resource, status: str, what: str, timeout: float = 200) -> None:
    def reached() -> bool:
        current = Resource.objects.get(pk=resource.pk)
        assert current.status != ResourceStatus.FAILED, current.last_error
        return current.status == status

    wait_for(reached, what, timeout=timeout)


def assert_lost_then_found(stack: Stack, resource: Resource, apply: Run, serial: int) -> None:
    """The lost apply's outcome is unknown, a refresh-and-plan of the same change found it
    applied (no changes), and the empty plan's apply recorded it: nothing reverted."""
    apply.refresh_from_db()
    assert apply.status == RunStatus.FAILED and apply.outcome_unknown, apply.error
    assert "outcome unknown" in apply.error
    assert apply.state_serial is not None and apply.state_serial < serial
    (recovery,) = Run.objects.filter(recovers=apply)
    assert recovery.kind == RunKind.PLAN and recovery.status == RunStatus.SUCCEEDED
    assert recovery.parameters == apply.parameters  # the lost change, not the one before
    assert recovery.template_version_id == apply.template_version_id
    assert recovery.plan_summary["has_changes"] is False, recovery.plan_summary
    finish = recovery.applies.get()
    assert finish.status == RunStatus.SUCCEEDED
    # Nothing after the loss planned or applied the configuration from before it.
    later = resource.runs.filter(pk__gt=apply.pk).exclude(kind=RunKind.DRIFT)
    assert {r.pk for r in later} == {recovery.pk, finish.pk}
    assert state_doc(resource)["serial"] == serial  # the refresh-and-plan changed nothing
    # The apply's plan file was private while it lay on disk, and the reaper removed it.
    assert not list(stack.work_dir.glob(f"run-{apply.pk}-*"))


def test_worker_killed_after_the_apply_wrote_state_is_found_applied(
    stack: Stack, killer: KillOnStateWrite
) -> None:
    team, user = stack.member()
    stack.start_worker(IDP_RUN_HEARTBEAT_TIMEOUT=HEARTBEAT_TIMEOUT)
    stack.start_beat(IDP_BEAT_SCALE="0.02")  # idp.jobs_housekeeping (reaps runs) every 0.2 s
    resource = stack.request(user, team, "tf_slow", {"delay": 1, "label": "before"})
    wait_status(resource, ResourceStatus.PROVISIONED, "the first apply")
    resource.refresh_from_db()
    before = state_doc(resource)
    last = resource.runs.order_by("-pk").values_list("pk", flat=True)[0]

    with transaction.atomic():
        actions.change_parameters(resource, {"delay": 3, "label": "after"}, actor=user)
    apply = arm_on_apply(stack, killer, resource, last)
    assert killer.fired.wait(120), "the apply never wrote its state"
    assert killer.plan_file_mode == 0o600, oct(killer.plan_file_mode or 0)
    after = state_doc(resource)
    assert after["serial"] > before["serial"] and after["lineage"] == before["lineage"]

    wait_for(
        lambda: Run.objects.filter(recovers_id=apply.pk).exists(),
        "the reaper to find the outcome unknown",
        timeout=HEARTBEAT_TIMEOUT + 60,
    )
    wait_status(resource, ResourceStatus.PROVISIONED, "the refresh-and-plan and its apply")
    resource.refresh_from_db()
    assert resource.outputs["label"] == "after" and resource.parameters["label"] == "after"
    assert_lost_then_found(stack, resource, apply, after["serial"])
    (instance,) = state_doc(resource)["resources"][0]["instances"]
    assert instance["attributes"]["output"]["value"] == "after"


def _register_v2(version: Any) -> Any:
    """Version 2 of the template: the same module plus one more object (an apply writes)."""
    from catalog.models import TemplateVersion

    files = dict(version.files)
    files["v2.tf"] = (
        'resource "terraform_data" "v2" {\n  input = "v2"\n}\n\n'
        'output "generation" {\n  value = terraform_data.v2.output\n}\n'
    )
    v2 = TemplateVersion.objects.create(
        template=version.template,
        number=version.number + 1,
        content_hash=f"{version.content_hash[:56]}-v2",
        files=files,
        parameters_schema=version.parameters_schema,
    )
    return v2


def test_worker_killed_after_an_apply_in_a_fleet_wave_is_found_applied(
    stack: Stack, killer: KillOnStateWrite
) -> None:
    from django.contrib.auth import get_user_model

    from fleet.actions import start_fleet_upgrade
    from fleet.choices import FleetStatus, ItemStatus
    from fleet.models import FleetItem

    team, user = stack.member()
    stack.start_worker(IDP_RUN_HEARTBEAT_TIMEOUT=HEARTBEAT_TIMEOUT)
    stack.start_beat(IDP_BEAT_SCALE="0.02")
    resource = stack.request(user, team, "tf_slow", {"delay": 3, "label": "kept"})
    wait_status(resource, ResourceStatus.PROVISIONED, "the first apply")
    resource.refresh_from_db()
    v1 = resource.template_version
    v2 = _register_v2(v1)
    before = state_doc(resource)
    last = resource.runs.order_by("-pk").values_list("pk", flat=True)[0]
    admin = get_user_model().objects.create_superuser(username=f"admin-{team.slug}", password="x")

    with transaction.atomic():
        fleet = start_fleet_upgrade(
            actor=admin,
            template=v1.template.slug,
            version=v2.number,
            selection={"resources": [resource.pk]},
            parallelism=1,
        )
    apply = arm_on_apply(stack, killer, resource, last)
    assert killer.fired.wait(150), "the fleet's apply never wrote its state"
    assert killer.plan_file_mode == 0o600, oct(killer.plan_file_mode or 0)
    after = state_doc(resource)
    assert after["serial"] > before["serial"]

    item = FleetItem.objects.get(fleet=fleet, resource=resource)
    wait_status(resource, ResourceStatus.PROVISIONED, "the refresh-and-plan and its apply")
    wait_for(
        lambda: FleetItem.objects.get(pk=item.pk).status == ItemStatus.APPLIED,
        "the fleet item to follow the recovery",
        timeout=90,
    )
    item.refresh_from_db()
    assert item.status != ItemStatus.FAILED
    resource.refresh_from_db()
    assert resource.template_version_id == v2.pk  # upgraded, not put back on v1
    assert resource.outputs["generation"] == "v2" and resource.outputs["label"] == "kept"
    assert_lost_then_found(stack, resource, apply, after["serial"])
    wait_for(
        lambda: type(fleet).objects.get(pk=fleet.pk).status == FleetStatus.COMPLETED,
        "the fleet to complete",
        timeout=90,
    )
