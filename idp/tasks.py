"""Platform-level Celery tasks."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.utils import timezone

from . import audit
from .choices import AuditAction
from .context import bound
from .jobs.tasks import jobs_housekeeping  # noqa: F401 - the one periodic task of all jobs
from .workload_identity import purge_expired_workload_tokens


@shared_task(name="idp.record_heartbeat", time_limit=120, soft_time_limit=110)
def record_heartbeat(note: str = "") -> dict[str, Any]:
    """Write a `platform.heartbeat` audit event as "system": proves a worker runs and sees the DB.

    Returns the event id and when it was written, for whoever waits on the result.
    """
    with bound(run_id=f"heartbeat-{timezone.now():%Y%m%dT%H%M%S}"):
        event = audit.record(
            AuditAction.PLATFORM_HEARTBEAT, details={"note": note} if note else None
        )
    return {"event_id": event.pk, "at": event.created_at.isoformat()}


@shared_task(name="idp.purge_workload_tokens", time_limit=300, soft_time_limit=290)
def purge_workload_tokens() -> int:
    """Delete the short-lived platform tokens issued to CI a week after they expired."""
    return purge_expired_workload_tokens()
