from __future__ import annotations

from provisioning import actions
from provisioning.actions.results import Decision
from provisioning.models import Resource

from ._common import DecisionCommand


class Command(DecisionCommand):
    help = (
        "Approve a resource's pending plan as USER (the environment's approval policy: roles, "
        "number of approvals, and nobody who changed the plan)."
    )
    action = actions.approve

    def done(self, resource: Resource, decision: Decision) -> str:
        if not decision.queued:
            return f"Approval of {resource} recorded; it needs more approvals."
        return f"Approved the plan of {resource}; apply queued."
