from __future__ import annotations

from provisioning import actions

from ._common import DecisionCommand


class Command(DecisionCommand):
    help = "Reject a resource's pending plan as USER, with a reason."
    reason_required = True
    reason_help = "Why (shown to the requester)"
    action = actions.reject
