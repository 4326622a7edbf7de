"""States an apply could not store: pushed to the backend when it answers again.

When the state backend is unreachable at the end of an apply, Terraform writes the new
state to `errored.tfstate`; the runner keeps it, encrypted, on the run (`pending_state`)
and the resource waits in `state_pending`. The beat task `provisioning.push_pending_states`
tries each due one with a doubling wait (IDP_STATE_PUSH_RETRY_SECONDS, at most an hour);
`manage.py push_state RUN` tries one at once. A push writes the state with
`terraform state push`'s checks (same lineage, no newer serial), removes the lock file the
apply left, records the outputs from the state, and moves the resource on
(`state_pending` → `provisioned`, or `destroyed` after a destroy).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.db.models import F
from django.utils import timezone

from idp.conf import setting

from ..choices import ResourceStatus
from ..crypto import decrypt_bytes
from ..models import Resource, Run
from . import state_cache
from .backend import StateConflict, credentials_env, write_state

log = logging.getLogger(__name__)

MAX_WAIT_SECONDS = 3600.0


class StatePushFailed(Exception):
    """The pending state could not be pushed (the backend still unreachable, or refused)."""


def retry_delay(attempts: int) -> timedelta:
    base = float(setting("IDP_STATE_PUSH_RETRY_SECONDS"))
    return timedelta(seconds=min(base * (2 ** min(attempts, 20)), MAX_WAIT_SECONDS))


def first_retry_at(now: datetime) -> datetime:
    return now + retry_delay(0)


def waiting_runs() -> Any:
    """Runs holding a state not yet stored, oldest first."""
    return Run.objects.filter(pending_state_retry_at__isnull=False).order_by("pk")


def push_due(now: datetime | None = None) -> dict[str, int]:
    """Push every pending state whose wait is over (the beat task); counts by outcome."""
    now = now or timezone.now()
    counts = {"pushed": 0, "failed": 0}
    for run_id in list(
        waiting_runs().filter(pending_state_retry_at__lte=now).values_list("pk", flat=True)
    ):
        try:
            push(run_id)
            counts["pushed"] += 1
        except StatePushFailed as exc:
            counts["failed"] += 1
            log.warning("run %s: pending state not pushed yet: %s", run_id, exc)
    return counts


def push(run_id: int) -> Resource:
    """Store the run's pending state in the backend now and settle its resource.

    Raises StatePushFailed (and schedules the next attempt) when it cannot."""
    from .outcomes import record_pushed_state

    run = (
        Run.objects.select_related("resource__team", "resource__environment", "resource__service")
        .filter(pk=run_id)
        .first()
    )
    if run is None:
        raise StatePushFailed(f"There is no run {run_id}")
    if not run.pending_state:
        raise StatePushFailed(f"Run {run_id} holds no state waiting to be pushed")
    data = decrypt_bytes(run.pending_state)
    if data is None:
        raise StatePushFailed(
            f"Run {run_id}'s pending state cannot be decrypted (was IDP_ENCRYPTION_KEY changed?)"
        )
    resource = run.resource
    try:
        done = write_state(resource, data)
    except (BotoCoreError, ClientError, StateConflict, OSError) as exc:
        _later(run, exc)
        raise StatePushFailed(f"Run {run_id}: the state was not pushed: {exc}") from exc
    log.info("run %s: pending state %s (resource %s)", run_id, done, resource.pk)
    _refresh_summary(resource)
    outputs = json.loads(data).get("outputs") or {}
    creds = credentials_env(resource.environment, f"idp-push-{run.pk}")
    record_pushed_state(run, outputs, creds)
    resource.refresh_from_db()
    return resource


def _refresh_summary(resource: Resource) -> None:
    """The pushed state's summary, cached for its next reader (dropped when unreadable)."""
    try:
        state_cache.refresh(resource)
    except (BotoCoreError, ClientError, OSError, ValueError) as exc:
        log.warning("resource %s: state summary not refreshed: %s", resource.pk, exc)
        state_cache.forget(resource)


def _later(run: Run, exc: BaseException) -> None:
    """The next attempt after a doubling wait; the failure is on the run for people to see."""
    now = timezone.now()
    Run.objects.filter(pk=run.pk).update(
        pending_state_attempts=F("pending_state_attempts") + 1,
        pending_state_retry_at=now + retry_delay(run.pending_state_attempts + 1),
    )
    Resource.objects.filter(pk=run.resource_id, status=ResourceStatus.STATE_PENDING).update(
        last_error=(
            f"Run {run.pk}: the applied state is not stored yet (attempt "
            f"{run.pending_state_attempts + 1} at {now:%Y-%m-%d %H:%M:%S} UTC failed: {exc})"
        )[:10000]
    )
