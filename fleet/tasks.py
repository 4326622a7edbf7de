"""Celery task of fleet upgrades: the driver, nudged (fleet/actions/nudge.py); the jobs'
housekeeping (idp/jobs) drives every fleet at work on the beat."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import DatabaseError

log = logging.getLogger(__name__)


@shared_task(name="fleet.advance_fleet", ignore_result=True, time_limit=300, soft_time_limit=290)
def advance_fleet(fleet_id: int) -> str:
    """Advance one fleet upgrade one step (idempotent: a duplicate message changes nothing)."""
    from .actions import advance
    from .hooks import drive_started

    drive_started(fleet_id)
    try:
        return advance(fleet_id)
    except DatabaseError as exc:  # housekeeping drives it again
        log.warning("fleet upgrade %s: database unavailable: %s", fleet_id, exc)
        return "retry"
