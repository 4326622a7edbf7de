from __future__ import annotations

from provisioning import actions
from provisioning.actions.results import Decision
from provisioning.models import Resource

from ._common import DecisionCommand


class Command(DecisionCommand):
    help = "Reject a resource's pending plan as USER, with a reason."
    reason_required = True
    reason_help = "Why (shown to the requester)"
    action = actions.reject

    def done(self, resource: Resource, decision: Decision) -> str:
        return f"Rejected the plan of {resource}."
