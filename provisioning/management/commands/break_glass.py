from __future__ import annotations

from typing import Any

from provisioning import actions
from provisioning.models import Resource

from ._common import DecisionCommand


class Command(DecisionCommand):
    help = (
        "Break-glass: a platform admin (USER) approves a resource's pending plan alone, past "
        "the four-eyes rule. A reason is required; the override is audited and shown."
    )
    reason_required = True
    reason_help = "Why this cannot wait"

    def decide(self, resource: Resource, user: Any, reason: str, plan_run: int | None) -> str:
        actions.break_glass(resource, actor=user, reason=reason, plan_run=plan_run)
        return f"Break-glass approval of {resource} recorded; apply queued."
