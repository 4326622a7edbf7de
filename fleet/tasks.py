"""Celery tasks of fleet upgrades: the driver (nudged) and its sweeper (beat)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import DatabaseError

log = logging.getLogger(__name__)


@shared_task(name="fleet.advance_fleet", ignore_result=True, time_limit=300, soft_time_limit=290)
def advance_fleet(fleet_id: int) -> str:
    """Advance one fleet upgrade one step (idempotent: a duplicate message changes nothing)."""
    from .actions import advance

    try:
        return advance(fleet_id)
    except DatabaseError as exc:  # the sweeper drives it again
        log.warning("fleet upgrade %s: database unavailable: %s", fleet_id, exc)
        return "retry"


@shared_task(name="fleet.sweep_fleets", ignore_result=True, time_limit=600, soft_time_limit=590)
def sweep_fleets() -> int:
    """Advance every fleet upgrade still at work (covers lost nudges and held plans that
    finished without a status change to nudge on)."""
    from .actions import advance, needs_driving

    ids = needs_driving()
    for fleet_id in ids:
        try:
            advance(fleet_id)
        except DatabaseError as exc:
            log.warning("fleet upgrade %s: database unavailable: %s", fleet_id, exc)
    return len(ids)
