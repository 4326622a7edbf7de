"""The fleet driver as a job kind (idp/jobs): a nudge on commit, and housekeeping drives
every fleet still at work. A fleet's step holds nothing a dead worker could leave behind
(the plans and applies it starts are runs, reaped as runs), so it has no row to reap."""

from __future__ import annotations

import logging

from django.db import DatabaseError

from idp.jobs import dispatch
from idp.jobs.registry import JobKind, register

log = logging.getLogger(__name__)


def drive_all() -> int:
    """Advance every fleet upgrade still at work (covers lost nudges and held plans that
    finished without a status change to nudge on). Returns how many."""
    from .drive import advance, needs_driving

    ids = needs_driving()
    for fleet_id in ids:
        try:
            advance(fleet_id)
        except DatabaseError as exc:
            log.warning("fleet upgrade %s: database unavailable: %s", fleet_id, exc)
    return len(ids)


FLEET_DRIVE = register(
    JobKind(
        name="fleet.drive",
        label="fleet upgrade step",
        task="fleet.tasks.advance_fleet",
        schedule=drive_all,
    )
)


def send(fleet_id: int) -> None:
    """Send the driver's message now; a broker outage is logged, housekeeping drives later."""
    dispatch.send(FLEET_DRIVE, fleet_id)


def on_commit(fleet_id: int) -> None:
    dispatch.nudge(FLEET_DRIVE, fleet_id)
