"""Fleet's reaction to provisioning: a resource of an active fleet moved, nudge the fleet.

Every move of every resource of a fleet would otherwise send a message, and each message is
a whole step of the fleet on a worker (hundreds per wave, taking turns with the runs the
step starts). A fleet has at most one nudge waiting: the step it starts reads every item
anyway, and a move after the step began sends the next one (`drive_started`).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache

from provisioning.lifecycle import Moved

from .choices import ITEM_IN_FLIGHT

log = logging.getLogger(__name__)

# A nudge waiting for a worker, per fleet. It expires: a message lost on the way holds the
# next nudges back no longer than this (the beat's housekeeping drives every fleet anyway).
WAITING = "fleet:nudge-waiting:{}"
WAITING_SECONDS = 10


def nudge_on_resource_moved(moved: Moved) -> None:
    """Registered with `provisioning.lifecycle.on_resource_moved` (called on commit)."""
    _nudge(moved.resource_id)


def nudge_on_plan_held(resource_id: int, run_id: int) -> None:
    """Registered with `provisioning.actions.holds.on_plan_held` (called on commit)."""
    _nudge(resource_id)


def _nudge(resource_id: int) -> None:
    from .actions import nudge
    from .models import FleetItem

    try:
        fleets = set(
            FleetItem.objects.filter(
                # Any fleet's: a cancelled one still winds down the plans it started.
                resource_id=resource_id,
                status__in=ITEM_IN_FLIGHT,
            ).values_list("fleet_id", flat=True)
        )
    except Exception:  # noqa: BLE001 - a listener never breaks the transition it follows
        log.warning("fleet nudge failed for resource %s", resource_id, exc_info=True)
        return
    for fleet_id in fleets:
        if first_nudge(fleet_id):
            nudge.send(fleet_id)


def first_nudge(fleet_id: int) -> bool:
    """Is no nudge of this fleet waiting for a worker? Then this one is (True)."""
    return not shared_cache() or bool(
        cache.add(WAITING.format(fleet_id), 1, timeout=WAITING_SECONDS)
    )


def shared_cache() -> bool:
    """Do the web and worker processes share the cache (Redis)? A cache of this process
    alone cannot tell a worker's step from a waiting nudge: then every move sends one."""
    return not str(settings.CACHES["default"]["BACKEND"]).endswith("LocMemCache")


def drive_started(fleet_id: int) -> None:
    """The fleet's step begins: the nudge it answers is no longer waiting, so a move from
    now on sends a new one (and the step after this one sees it)."""
    cache.delete(WAITING.format(fleet_id))
