"""Working directories of runs, and the plan's directory kept for its apply.

A successful plan keeps its initialised directory (`.terraform` and the lock file, no
variables, no plan file) so the apply of that plan needs no `init`. Only the newest plan of a
resource is kept; the apply takes it over, and a missing one (another host, swept) means a
normal `init`. The apply still checks the stored plan file's hash and writes those bytes.
"""

from __future__ import annotations

import contextlib
import shutil
import time
import uuid
from pathlib import Path

from idp.conf import setting

# Files that may hold secrets or state of one run: never kept past the plan.
NOT_KEPT = ("terraform.tfvars.json", "plan.tfplan")


def root() -> Path:
    path = Path(setting("IDP_WORK_DIR"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def kept_dir(resource_id: int, plan_run_id: int) -> Path:
    return root() / f"keep-r{resource_id}-p{plan_run_id}"


def new_dir(run_id: int) -> Path:
    path = root() / f"run-{run_id}-{uuid.uuid4().hex[:8]}"
    path.mkdir(mode=0o700)
    return path


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
    return target


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
