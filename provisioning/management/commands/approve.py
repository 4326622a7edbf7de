from __future__ import annotations

from provisioning import actions

from ._common import DecisionCommand


class Command(DecisionCommand):
    help = (
        "Approve a resource's pending plan as USER (the environment's approval policy: roles, "
        "number of approvals, and nobody who changed the plan)."
    )
    action = actions.approve
