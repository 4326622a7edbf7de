"""What a user may do with a resource now: pages and API answers show only these."""

from __future__ import annotations

from dataclasses import dataclass

from idp.actors import Person
from idp.rbac import has_object_perm

from ..approval_policy import ApprovalPolicy, break_glass_refusal
from ..choices import RUN_ACTIVE, ResourceStatus
from ..models import Resource, Run
from . import proposals
from .archive import archive_refusal, unarchive_refusal
from .changes import PLANNABLE, destroy_refusal, is_busy
from .drift import drift_actions
from .policy import override_refusal

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
    "archive",
    "unarchive",
    "override_policy",
    "reconcile",
    "accept_drift",
)


@dataclass(frozen=True)
class Known:
    """What a page has read of the resource already (the resource page's `ResourcePage`),
    so the rules below do not read it again."""

    policy: ApprovalPolicy  # the resource's approval policy, its reads cached
    awaiting: Run | None  # the plan awaiting a decision (`proposals.plan_awaiting_decision`)
    run_active: bool  # a queued or running run of any kind


def allowed_actions(resource: Resource, user: Person, known: Known | None = None) -> set[str]:
    """Which actions `user` may take on the resource now (asks the same rules the actions
    enforce: the approval policy for decisions, `destroy_refusal` and the archive rules,
    roles for the rest)."""
    actions: set[str] = set()
    if not has_object_perm(user, resource, "use_team"):
        return actions
    if resource.archived_at is not None:
        # Put away: nothing runs on it until it is taken back.
        return {"unarchive"} if unarchive_refusal(resource, user) is None else actions
    busy = is_busy(resource)
    if known.run_active if known else resource.runs.filter(status__in=RUN_ACTIVE).exists():
        actions.add("cancel")
    if resource.status == ResourceStatus.AWAITING_APPROVAL:
        plan = known.awaiting if known else proposals.plan_awaiting_decision(resource)
        if plan is not None:
            policy = known.policy if known else ApprovalPolicy.of(resource)
            if policy.refusal(resource, plan, user) is None:
                actions |= {"approve", "reject"}
            if break_glass_refusal(user) is None:
                actions.add("break_glass")
        actions.add("withdraw")
    if resource.status == ResourceStatus.POLICY_FAILED:
        actions.add("withdraw")
        if override_refusal(resource, user) is None:
            actions.add("override_policy")
    if resource.status in PLANNABLE and not busy:
        actions |= {"plan", "change"}
        current = resource.template.current_version_id
        if current and current != resource.template_version_id:
            actions.add("upgrade")
        if destroy_refusal(resource, user) is None:
            actions.add("destroy")
    if resource.status == ResourceStatus.FAILED and not busy:
        actions.add("retry")
    if archive_refusal(resource, user) is None:
        actions.add("archive")
    actions |= drift_actions(resource, user)
    return actions
