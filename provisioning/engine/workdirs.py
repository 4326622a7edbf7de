"""Working directories of runs, and the plan's directory kept for its apply.

A successful plan keeps its initialised directory (`.terraform` and the lock file, no
variables, no plan file) so the apply of that plan needs no `init`. Only the newest plan of a
resource is kept; the apply takes it over, and a missing one (another host, swept) means a
normal `init`. The apply still checks the stored plan file's hash and writes those bytes.

A run's directory is private (0700) and its variables file, which holds decrypted sensitive
values, is written 0600 and removed as soon as the run's Terraform commands end. Directories
a killed worker left behind are swept at worker start and on the beat schedule; a state
Terraform could not store (`errored.tfstate`) is never deleted with them but moved aside.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import time
import uuid
from pathlib import Path

from idp.conf import setting

log = logging.getLogger(__name__)

VARIABLES = "terraform.tfvars.json"
# The plan file an apply applies: it holds the plan's inputs, secrets among them.
PLAN_FILE = "plan.tfplan"
# What Terraform writes when it applied but could not store the state in the backend.
ERRORED_STATE = "errored.tfstate"
# Files that may hold secrets or state of one run: never kept past the plan.
NOT_KEPT = (VARIABLES, PLAN_FILE)
RUN_DIR = re.compile(r"^run-(\d+)-[0-9a-f]+$")


def root() -> Path:
    path = Path(setting("IDP_WORK_DIR"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def kept_dir(resource_id: int, plan_run_id: int) -> Path:
    return root() / f"keep-r{resource_id}-p{plan_run_id}"


def new_dir(run_id: int) -> Path:
    path = root() / f"run-{run_id}-{uuid.uuid4().hex[:8]}"
    path.mkdir(mode=0o700)
    path.chmod(0o700)  # whatever the umask
    return path


def write_private(path: Path, text: str) -> None:
    """Write a file only the worker's user may read (created 0600, never wider)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)


def write_private_bytes(path: Path, data: bytes) -> None:
    """`write_private` for bytes (a plan file)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(data)


def remove_run_dirs(run_id: int) -> int:
    """Remove this host's directories of one run that ended (a reaped run's: its plan file
    and variables go at once, not at the next sweep). Returns how many."""
    removed = 0
    for path in root().glob(f"run-{run_id}-*"):
        if RUN_DIR.match(path.name) and path.is_dir():
            remove(path, run_id)
            removed += 1
    return removed


def remove_secrets(workdir: Path) -> None:
    """The run's Terraform commands ended: its decrypted variables leave the disk."""
    (workdir / VARIABLES).unlink(missing_ok=True)


def keep(workdir: Path, resource_id: int, plan_run_id: int) -> Path | None:
    """Keep a plan's initialised directory for its apply; older plans' directories go, and
    so do directories of plans never applied (`sweep`), on the host that keeps them."""
    for path in (workdir / name for name in NOT_KEPT):
        path.unlink(missing_ok=True)
    if not (workdir / ".terraform").is_dir():
        return None
    for stale in root().glob(f"keep-r{resource_id}-p*"):
        shutil.rmtree(stale, ignore_errors=True)
    target = kept_dir(resource_id, plan_run_id)
    try:
        workdir.rename(target)
    except OSError:
        return None
    with contextlib.suppress(OSError):
        sweep()
    return target


def adopt(resource_id: int, plan_run_id: int, run_id: int) -> Path | None:
    """Take over the plan's kept directory as this run's; None when there is none."""
    source = kept_dir(resource_id, plan_run_id)
    target = root() / f"run-{run_id}-{uuid.uuid4().hex[:8]}"
    try:
        source.rename(target)  # atomic: two workers can never adopt the same directory
    except OSError:
        return None
    target.chmod(0o700)
    return target


def rescued_dir() -> Path:
    path = root() / "rescued-state"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def rescue_errored_state(workdir: Path, run_id: int | str) -> Path | None:
    """Move a state Terraform could not store out of a directory about to be removed; it is
    the only record of what the apply created. Returns where it went."""
    source = workdir / ERRORED_STATE
    if not source.exists():
        return None
    target = rescued_dir() / f"run-{run_id}-{uuid.uuid4().hex[:6]}.tfstate"
    shutil.move(str(source), target)
    target.chmod(0o600)
    log.error(
        "run %s: Terraform could not store its state and it was not saved with the run; "
        "it is kept at %s: push it with `terraform state push` once the backend answers",
        run_id,
        target,
    )
    return target


def remove(workdir: Path, run_id: int | str) -> None:
    """Remove a run's directory, never a state Terraform could not store."""
    with contextlib.suppress(OSError):
        rescue_errored_state(workdir, run_id)
    shutil.rmtree(workdir, ignore_errors=True)


def sweep_run_dirs(unknown_after_seconds: float | None = None) -> int:
    """Remove run directories (`run-<id>-…`) of runs that have ended: what a killed worker
    left behind, variables files included. A directory of a run this database does not know
    (deleted with its resource) goes once it is older than IDP_KEPT_PLAN_DIR_MAX_AGE.
    Returns how many were removed."""
    from ..choices import RUN_ACTIVE
    from ..models import Run

    limit = unknown_after_seconds
    if limit is None:
        limit = setting("IDP_KEPT_PLAN_DIR_MAX_AGE")
    # One look at the folder: a directory made after it belongs to a run that just started.
    found = [
        (path, int(m.group(1))) for path in root().glob("run-*") if (m := RUN_DIR.match(path.name))
    ]
    statuses = dict(
        Run.objects.filter(pk__in=[run_id for _, run_id in found]).values_list("pk", "status")
    )
    removed = 0
    for path, run_id in found:
        status = statuses.get(run_id)
        if status in RUN_ACTIVE or not path.is_dir():
            continue
        if status is None and not _older_than(path, limit):
            continue
        remove(path, run_id)
        removed += 1
    if removed:
        log.info("removed %s working directories of runs no longer active", removed)
    return removed


def _older_than(path: Path, seconds: float) -> bool:
    try:
        return path.stat().st_mtime < time.time() - seconds
    except OSError:
        return False


def sweep(max_age_seconds: float | None = None) -> int:
    """Remove kept plan directories older than the limit (plans never applied)."""
    limit = max_age_seconds
    if limit is None:
        limit = setting("IDP_KEPT_PLAN_DIR_MAX_AGE")
    cutoff = time.time() - limit
    removed = 0
    for path in root().glob("keep-r*-p*"):
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
    return removed
