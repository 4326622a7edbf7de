"""The one periodic task of background jobs (on the beat schedule)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="idp.jobs_housekeeping", ignore_result=True, time_limit=600, soft_time_limit=570)
def jobs_housekeeping() -> dict[str, dict[str, int]]:
    """Reap, re-send and schedule every registered job kind (provisioning runs, docs builds,
    syncs, scans, fleets, deliveries, collections)."""
    from .sweep import housekeeping

    return housekeeping()
