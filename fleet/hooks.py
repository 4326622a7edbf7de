"""Fleet's reaction to provisioning: a resource of an active fleet moved, nudge the fleet."""

from __future__ import annotations

import logging

from provisioning.lifecycle import Moved

from .choices import ITEM_IN_FLIGHT

log = logging.getLogger(__name__)


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
        nudge.send(fleet_id)
