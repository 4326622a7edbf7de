"""A full disk under the run directories: the run fails with a readable "no space left"
error, its lock is freed, and once space is back a retry succeeds."""

from __future__ import annotations

import os

import pytest

from provisioning import actions
from provisioning.choices import ResourceStatus, RunStatus
from provisioning.models import ResourceLock
from tests.provisioning.engine.conftest import request_module, run_queued

# serial: it mounts a tmpfs, which is no business of a parallel neighbour.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.serial,
    pytest.mark.slow,
    pytest.mark.timeout(180),
]


def fill(disk, leave: int) -> None:
    """Write a file that takes all but `leave` bytes of the disk."""
    st = os.statvfs(disk)
    size = max(st.f_bavail * st.f_frsize - leave, 0)
    with open(disk / "filler", "wb") as fh:
        fh.write(b"\0" * size)


@pytest.mark.django_db
def test_full_disk_fails_clearly_and_frees_the_lock(
    alice, teams, envs, echo, state, settings, small_disk
):
    settings.IDP_WORK_DIR = small_disk / "runs"
    fill(small_disk, leave=16 * 1024)
    resource = request_module(alice, teams["payments"], name="cramped", message="room again")
    (plan,) = run_queued(resource)
    assert plan.status == RunStatus.FAILED
    assert "no space left" in plan.error.lower(), plan.error
    assert (
        resource.status == ResourceStatus.FAILED and "no space left" in resource.last_error.lower()
    )
    assert not plan.plan_file and not resource.outputs
    assert not ResourceLock.objects.filter(resource=resource).exists()
    assert not list((small_disk / "runs").iterdir())  # the half-written run dir is gone

    (small_disk / "filler").unlink()
    actions.retry(resource, actor=alice)
    runs = run_queued(resource)
    assert runs and all(r.status == RunStatus.SUCCEEDED for r in runs), [r.error for r in runs]
    assert resource.status == ResourceStatus.PROVISIONED
    assert resource.outputs["echo"] == "room again"
