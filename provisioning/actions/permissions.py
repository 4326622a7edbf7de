"""What a user may do with a resource now: pages and API answers show only these."""

from __future__ import annotations

from typing import Any

from idp.rbac import has_team_perm, is_platform_admin

from ..approval_policy import ApprovalPolicy
from ..choices import RUN_ACTIVE, ResourceStatus
from ..models import Resource
from . import proposals
from .changes import PLANNABLE, is_busy

ACTIONS = (
    "approve",
    "reject",
    "break_glass",
    "withdraw",
    "plan",
    "retry",
    "destroy",
    "change",
    "upgrade",
    "cancel",
)


def allowed_actions(resource: Resource, user: Any) -> set[str]:
    """Which actions `user` may take on the resource now (asks the same rules the actions
    enforce: the approval policy for decisions, roles for the rest)."""
    actions: set[str] = set()
    team = resource.team
    if not has_team_perm(user, team, "use_team"):
        return actions
    busy = is_busy(resource)
    if resource.runs.filter(status__in=RUN_ACTIVE).exists():
        actions.add("cancel")
    if resource.status == ResourceStatus.AWAITING_APPROVAL:
        plan = proposals.plan_awaiting_decision(resource)
        if plan is not None:
            if ApprovalPolicy.of(resource).refusal(resource, plan, user) is None:
                actions |= {"approve", "reject"}
            if is_platform_admin(user):
                actions.add("break_glass")
        actions.add("withdraw")
    if resource.status in PLANNABLE and not busy:
        actions |= {"plan", "change"}
        current = resource.template.current_version_id
        if current and current != resource.template_version_id:
            actions.add("upgrade")
        if has_team_perm(user, team, "maintain_team"):
            actions.add("destroy")
    if resource.status == ResourceStatus.FAILED and not busy:
        actions.add("retry")
    return actions
