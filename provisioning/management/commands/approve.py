from __future__ import annotations

from typing import Any

from provisioning import actions
from provisioning.choices import ResourceStatus
from provisioning.models import Resource

from ._common import DecisionCommand


class Command(DecisionCommand):
    help = (
        "Approve a resource's pending plan as USER (the environment's approval policy: roles, "
        "number of approvals, and nobody who changed the plan)."
    )

    def decide(self, resource: Resource, user: Any, reason: str, plan_run: int | None) -> str:
        actions.approve(resource, actor=user, reason=reason, plan_run=plan_run)
        resource.refresh_from_db(fields=["status"])
        if resource.status == ResourceStatus.AWAITING_APPROVAL:
            return f"Approval of {resource} recorded; it needs more approvals."
        return f"Approved the plan of {resource}; apply queued."
