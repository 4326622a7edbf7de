"""Fleet upgrade actions: one function per operation, called by every surface.

`start` selects resources (`preview_fleet_upgrade`: what it would select) and fixes their
waves; `drive` advances a fleet one step (the Celery driver and sweeper call it); `control`
pauses, resumes and cancels, and is the one lookup of a fleet for a user; `summary` reads
progress, grouped plan results and waves.
"""

from .control import cancel, get_fleet, may_manage, pause, resume, visible
from .drive import advance, needs_driving
from .start import FleetPreview, preview_fleet_upgrade, start_fleet_upgrade
from .summary import change_groups, groups, progress, status_counts, waves

__all__ = [
    "FleetPreview",
    "advance",
    "cancel",
    "get_fleet",
    "change_groups",
    "groups",
    "may_manage",
    "needs_driving",
    "pause",
    "preview_fleet_upgrade",
    "progress",
    "status_counts",
    "resume",
    "start_fleet_upgrade",
    "visible",
    "waves",
]
