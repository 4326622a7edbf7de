"""Housekeeping of every registered job kind: reap jobs whose worker died, re-send queued
jobs whose message was lost, run each kind's schedule, and remove orphaned folders and
expired idempotency keys."""

from __future__ import annotations

import logging
import shutil
import time
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from idp.conf import setting

from . import dispatch
from .models import JobStatus
from .registry import JobKind, kinds

log = logging.getLogger(__name__)


def sweep_queued(kind: JobKind, grace: float | None = None) -> int:
    """Re-send every job queued (or due, for a retry) longer than the kind's grace period."""
    if grace is None:
        grace = kind.sweep_grace()
    cutoff = timezone.now() - timedelta(seconds=grace)
    ids = list(
        kind.model.objects.filter(status=JobStatus.QUEUED)
        .filter(Q(queued_at__lte=cutoff) | Q(queued_at__isnull=True))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for pk in ids:
        dispatch.send(kind, pk)
    return len(ids)


def lost_reason(kind: JobKind, attempts: int, requeued: bool) -> str:
    timeout = kind.heartbeat_timeout()
    lost = f"The worker running this {kind.noun} was lost (no heartbeat for {timeout}s)"
    if requeued:
        return f"{lost}; queued again."
    return f"{lost} on attempt {attempts} of {kind.max_attempts}; not tried again."


def reap_lost(kind: JobKind) -> int:
    """Take back `running` jobs whose heartbeat is older than the kind's timeout: queued
    again (a request recorded meanwhile, or attempts left) or failed with the reason; their
    temporary folder removed. Returns how many."""
    cutoff = timezone.now() - timedelta(seconds=kind.heartbeat_timeout())
    # A claim always sets the heartbeat: a running row without one is not the jobs' to reap.
    stale = kind.model.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff)
    if kind.reap is not None:
        return _reap_by_kind(kind, list(stale.order_by("pk").values_list("pk", flat=True)), cutoff)
    reaped = 0
    for pk in list(stale.values_list("pk", flat=True)):
        with transaction.atomic():
            row = stale.filter(pk=pk).select_for_update().first()
            if row is None:
                continue  # it beat, or ended, meanwhile
            requeued = row.requested_again or row.attempts < kind.max_attempts
            reason = lost_reason(kind, row.attempts, requeued)
            fields: dict[str, Any] = {
                "heartbeat_at": None,
                "workdir": "",
                "requested_again": False,
                "error": reason,
            }
            if requeued:
                fields.update(status=JobStatus.QUEUED, queued_at=timezone.now())
                if row.requested_again:
                    fields["attempts"] = 0  # a new request: a fresh count
            else:
                fields.update(status=JobStatus.FAILED, finished_at=timezone.now())
            # The folder first: once the row says queued, a new attempt may start at once.
            dispatch.remove_workdir(row.workdir)
            kind.model.objects.filter(pk=pk).update(**fields)
            if kind.on_lost is not None:
                kind.on_lost(pk, requeued, reason)
            if requeued:
                dispatch.nudge(kind, pk)
        log.warning("%s %s: %s", kind.noun, pk, reason)
        reaped += 1
    return reaped


def _reap_by_kind(kind: JobKind, ids: list[int], cutoff: datetime) -> int:
    """The kind takes back each stale job itself (its own status writes and row locks)."""
    assert kind.reap is not None
    reaped = 0
    for pk in ids:
        if not kind.reap(pk, cutoff):
            continue  # it beat, or ended, meanwhile
        log.warning(
            "%s %s: the worker was lost (no heartbeat for %ss); taken back",
            kind.noun,
            pk,
            kind.heartbeat_timeout(),
        )
        reaped += 1
    return reaped


def sweep_workdirs(min_age: float | None = None) -> int:
    """Remove folders in the work root that no running job of any kind holds (their worker
    died on this host and the reaper ran on another, or the row was deleted)."""
    root = dispatch.work_root()
    if min_age is None:
        # A folder is made by a claim just before its row names it: younger than a heartbeat
        # timeout, it may belong to a job this pass did not see running.
        min_age = max(setting("IDP_JOB_SWEEP_GRACE_SECONDS"), setting("IDP_JOB_HEARTBEAT_TIMEOUT"))
    held: set[str] = set()
    for kind in kinds():
        if kind.model is not None:
            held.update(
                kind.model.objects.filter(status=JobStatus.RUNNING)
                .exclude(workdir="")
                .values_list("workdir", flat=True)
            )
    removed = 0
    now = time.time()
    for path in root.iterdir():
        if str(path) in held or not path.is_dir() or path.is_symlink():
            continue
        try:
            if now - path.stat().st_mtime < min_age:
                continue  # just made: its row may not name it yet
        except FileNotFoundError:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed += 1
    return removed


def housekeeping() -> dict[str, dict[str, int]]:
    """One pass over every registered kind (the beat's `idp.jobs_housekeeping`): reap, then
    re-send, then the kind's schedule. One kind's failure never stops the others. Then the
    folders no job holds, and the API's expired idempotency keys."""
    report: dict[str, dict[str, int]] = {}
    for kind in kinds():
        counts: dict[str, int] = {}
        try:
            if kind.model is not None:
                counts["reaped"] = reap_lost(kind)
                counts["resent"] = sweep_queued(kind)
            if kind.schedule is not None:
                counts["scheduled"] = kind.schedule()
        except Exception:  # noqa: BLE001 - one kind must not stop the others
            log.exception("housekeeping of %s failed", kind.name)
            counts["error"] = 1
        report[kind.name] = counts
    try:
        report["workdirs"] = {"removed": sweep_workdirs()}
    except OSError:
        log.warning("sweeping job folders failed", exc_info=True)
    from idp.api.idempotency import purge_expired  # the API's rule loads DRF: only here

    try:
        report["idempotency_keys"] = {"purged": purge_expired()}
    except Exception:  # noqa: BLE001 - the jobs' housekeeping goes on
        log.exception("purging expired idempotency keys failed")
    return report
