"""Typed outcomes of actions: what an action did, which every surface renders as is (the
portal, the inbox, the API, admin and `manage.py` never re-read the resource to find out)."""

from __future__ import annotations

from dataclasses import dataclass

from ..choices import ApprovalDecision, ResourceStatus
from ..models import Approval, Resource, Run


@dataclass(frozen=True)
class Decision:
    """A decision on a pending plan (approve, break-glass, reject)."""

    resource: Resource
    plan: Run  # the plan decided on
    approval: Approval  # the recorded decision
    status: ResourceStatus  # the resource's status after it
    apply_run: Run | None = None  # the apply (or destroy) queued, if the decision queued one
    still_needed: int = 0  # approvals the plan still needs (0: none)

    @property
    def queued(self) -> bool:
        return self.apply_run is not None

    @property
    def message(self) -> str:
        """One sentence naming the resource, for messages, admin and the command line."""
        name = self.resource.name
        if self.approval.decision == ApprovalDecision.REJECTED:
            return f"The plan of {name} was rejected; its change was discarded."
        if self.approval.break_glass:
            return f"Break-glass approval of {name} recorded; the apply is queued."
        if self.queued:
            return f"{name} approved; the apply is queued."
        more = f"{self.still_needed} more approval{'' if self.still_needed == 1 else 's'}"
        return f"Approval of {name} recorded; the plan needs {more}."
