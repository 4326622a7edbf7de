"""Nudging a fleet's driver: a Celery message on commit; the sweeper covers a lost one."""

from __future__ import annotations

import logging

from django.db import transaction

log = logging.getLogger(__name__)


def send(fleet_id: int) -> None:
    """Send the driver's message now; a broker outage is logged, the sweeper drives later."""
    from ..tasks import advance_fleet

    try:
        advance_fleet.apply_async((fleet_id,))
    except Exception:  # noqa: BLE001 - any broker error: the fleet's row is the truth
        log.warning("could not nudge fleet upgrade %s; the sweeper will", fleet_id, exc_info=True)


def on_commit(fleet_id: int) -> None:
    transaction.on_commit(lambda: send(fleet_id))
