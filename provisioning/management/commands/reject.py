from __future__ import annotations

from typing import Any

from provisioning import actions
from provisioning.models import Resource

from ._common import DecisionCommand


class Command(DecisionCommand):
    help = "Reject a resource's pending plan as USER, with a reason."
    reason_required = True
    reason_help = "Why (shown to the requester)"

    def decide(self, resource: Resource, user: Any, reason: str, plan_run: int | None) -> str:
        actions.reject(resource, actor=user, reason=reason, plan_run=plan_run)
        return f"Rejected the plan of {resource}."
