"""The approval policy: the one place that decides whether a plan needs approval, how many
approvals from whom, who may not give one, and whether the plan's approvals suffice.

The environment's rule is a floor: a template may add requirements (more approvals, a
platform admin) but never remove them, and neither may anything else. Other apps add
requirements through plan gates (the budget gate of monitoring) registered here.
Every surface (portal, API, Django admin, CLI, `manage.py`) and `allowed_actions` ask it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from idp.conf import setting
from idp.models import Environment, ServiceAccount
from idp.rbac import has_team_perm, is_platform_admin

from .choices import ApprovalDecision, RunKind
from .models import Approval, Resource, Run

MAX_APPROVALS = 5


@dataclass(frozen=True)
class GateResult:
    """What a plan gate adds to a plan's requirement."""

    platform_admin: bool = False
    reason: str = ""
    estimated_monthly_cost: Decimal | None = None


# A gate looks at the plan's resource, template version, full parameters, and whether the
# plan destroys the resource (keyword `destroy`).
PlanGate = Callable[..., GateResult | None]
_gates: list[PlanGate] = []


def register_plan_gate(gate: PlanGate) -> None:
    """Register a gate (an app's `ready()`); it is asked for every plan."""
    if gate not in _gates:
        _gates.append(gate)


@dataclass(frozen=True)
class Requirement:
    """What a plan needs before it may be applied; stored with the plan (bound to it)."""

    approvals: int = 0  # distinct approvers needed; 0 = applied without review
    platform_admin: bool = False  # at least one approver must be a platform admin
    reasons: tuple[str, ...] = field(default_factory=tuple)
    estimated_monthly_cost: str | None = None

    @property
    def needed(self) -> bool:
        return self.approvals > 0

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["reasons"] = list(self.reasons)
        data["needed"] = self.needed
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Requirement:
        data = data or {}
        return cls(
            approvals=int(data.get("approvals") or 0),
            platform_admin=bool(data.get("platform_admin")),
            reasons=tuple(data.get("reasons") or ()),
            estimated_monthly_cost=data.get("estimated_monthly_cost"),
        )


def _approvals(count: int) -> str:
    return f"{count} approval{'' if count == 1 else 's'}"


APPROVER_PERMISSIONS = {"maintainer": "maintain_team", "admin": "manage_team"}
APPROVER_LABELS = {"maintainer": "a maintainer or admin", "admin": "an admin"}


def approval_rules() -> list[dict[str, Any]]:
    """Every environment's approval rule as data (for the Policies page and the API): how
    many approvals, from which roles, who decides over budget, and what templates add."""
    from catalog.models import Template

    templates = list(
        Template.objects.filter(current_version__isnull=False)
        .select_related("current_version")
        .order_by("slug")
    )
    rules = []
    for env in Environment.objects.order_by("order", "slug"):
        approvals = max(1, env.approvals_required) if env.requires_approval else 0
        overrides = []
        for template in templates:
            version = template.current_version
            wanted = (version.approval_policy or {}).get(env.slug) if version else None
            if wanted not in (None, "none"):
                overrides.append({"template": template.slug, "rule": str(wanted)})
        rules.append(
            {
                "environment": env.slug,
                "approvals": approvals,
                "approvers": APPROVER_LABELS.get(env.approver_role, APPROVER_LABELS["maintainer"])
                + " of the owning team, or a platform admin",
                "approver_role": env.approver_role,
                "over_budget_platform_admin": env.over_budget_platform_admin,
                "ineligible": "everyone who touched the pending change (four eyes)",
                "templates": overrides,
            }
        )
    return rules


def approval_ttl() -> timedelta:
    return timedelta(hours=setting("IDP_APPROVAL_TTL_HOURS"))


def break_glass_refusal(user: Any) -> str | None:
    """Why `user` may not use break-glass (approve a pending plan alone, past four eyes and
    the number of approvals), or None: only a signed-in platform admin who is a person may.
    The break-glass action, `allowed_actions` and Django admin ask this; none decides."""
    if not getattr(user, "is_authenticated", False):
        return "Sign in to decide on plans"
    if ServiceAccount.of(user) is not None:
        return "A service account never uses break-glass"
    if not is_platform_admin(user):
        return "Only a platform admin may use break-glass"
    return None


class ApprovalPolicy:
    """The approval rule of one environment, applied to the plans of its resources."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment

    @classmethod
    def of(cls, resource: Resource) -> ApprovalPolicy:
        return cls(resource.environment)

    # --- what a plan needs -----------------------------------------------------------

    def requirement(
        self,
        resource: Resource,
        version: Any,
        parameters: dict[str, Any],
        *,
        destroy: bool = False,
    ) -> Requirement:
        """The environment's floor, raised by the template's policy and by every plan gate."""
        env = self.environment
        approvals = max(1, env.approvals_required) if env.requires_approval else 0
        reasons = [f"{env.slug} requires {_approvals(approvals)}"] if approvals else []
        platform_admin = False
        wanted = (getattr(version, "approval_policy", None) or {}).get(env.slug)
        if wanted == "required" and approvals == 0:
            approvals = 1
            reasons.append(f"the template requires approval in {env.slug}")
        elif wanted == "admin":
            approvals = max(approvals, 1)
            platform_admin = True
            reasons.append(f"the template requires a platform admin's approval in {env.slug}")
        elif isinstance(wanted, int) and not isinstance(wanted, bool) and wanted > approvals:
            approvals = min(wanted, MAX_APPROVALS)
            reasons.append(f"the template requires {_approvals(approvals)} in {env.slug}")
        estimate: Decimal | None = None
        for gate in _gates:
            result = gate(resource, version, parameters, destroy=destroy)
            if result is None:
                continue
            if result.estimated_monthly_cost is not None:
                estimate = result.estimated_monthly_cost
            if result.platform_admin:
                approvals = max(approvals, 1)
                platform_admin = True
                reasons.append(result.reason)
        return Requirement(
            approvals=approvals,
            platform_admin=platform_admin,
            reasons=tuple(reasons),
            estimated_monthly_cost=str(estimate) if estimate is not None else None,
        )

    # --- who may decide --------------------------------------------------------------

    def touchers(self, resource: Resource) -> set[int]:
        """Everyone who touched the pending change: the requester of a resource never applied,
        and the author of every plan since the change began (parameter changes, upgrades,
        destroy requests, re-plans and retries), with the author chain of the plans the
        platform started (whoever changed the upstream a re-plan follows, and everyone who
        touched that change; `provisioning.causes`)."""
        ids: set[int] = set()
        plans = Run.objects.filter(
            resource=resource, kind=RunKind.PLAN, pk__gt=resource.proposal_after_run
        ).values_list("created_by_id", "authors")
        for created_by, authors in plans:
            if created_by:
                ids.add(created_by)
            ids.update(int(a) for a in authors or [])
        if resource.provisioned_at is None and resource.requested_by_id:
            ids.add(resource.requested_by_id)
        return ids

    def valid_approvals(self, plan: Run) -> list[Approval]:
        """Approvals of exactly this plan file and these policy results, not expired (a
        policy change that changes the results voids the approvals given before it)."""
        now = timezone.now()
        digest = (plan.policy_summary or {}).get("digest", "")
        return [
            a
            for a in plan.approvals.filter(decision=ApprovalDecision.APPROVED).select_related(
                "decided_by"
            )
            if a.plan_hash == plan.plan_hash
            and a.policy_digest == digest
            and (a.expires_at is None or a.expires_at > now)
        ]

    @property
    def approver_permission(self) -> str:
        """The team permission an approver needs here (the environment's approver role)."""
        return APPROVER_PERMISSIONS.get(self.environment.approver_role, "maintain_team")

    def approvers(self, team_slug: str) -> str:
        """Who may approve here, in words."""
        role = APPROVER_LABELS.get(self.environment.approver_role, APPROVER_LABELS["maintainer"])
        return f"{role} of {team_slug} (or a platform admin)"

    def refusal(self, resource: Resource, plan: Run | None, user: Any) -> str | None:
        """Why `user` may not approve or reject the pending plan (None: they may)."""
        if not getattr(user, "is_authenticated", False):
            return "Sign in to decide on plans"
        if ServiceAccount.of(user) is not None:
            # Automation may request and plan, never decide: approvals are people's.
            return "A service account never approves or rejects plans"
        admin = is_platform_admin(user)
        if not admin and not has_team_perm(user, resource.team, self.approver_permission):
            return (
                f"Your role in {resource.team.slug} does not allow you to approve plans in "
                f"{self.environment.slug} (approvers: {self.approvers(resource.team.slug)})"
            )
        if user.pk in self.touchers(resource):
            return (
                "You changed this plan (requested, changed, upgraded, destroyed or re-planned "
                "it, or changed a resource it takes a value from), so you cannot decide on it "
                "(four eyes)"
                + (
                    "; a platform admin acting alone may use break-glass"
                    if break_glass_refusal(user) is None
                    else ""
                )
            )
        if plan is None:
            return None
        requirement = Requirement.from_json(plan.approval_requirement)
        given = self.valid_approvals(plan)
        if any(a.decided_by_id == user.pk for a in given):
            return "You already approved this plan"
        if requirement.platform_admin and not admin:
            admin_given = any(a.decided_by and is_platform_admin(a.decided_by) for a in given)
            if not admin_given and requirement.approvals - len(given) <= 1:
                reason = "; ".join(requirement.reasons) or "this plan"
                return f"Only a platform admin may decide on this plan ({reason})"
        return None

    def satisfied(self, plan: Run) -> bool:
        """Whether the plan's valid approvals meet its requirement (break-glass meets any)."""
        requirement = Requirement.from_json(plan.approval_requirement)
        if not requirement.needed:
            return True
        given = self.valid_approvals(plan)
        if any(a.break_glass for a in given):
            return True
        touchers = self.touchers(plan.resource)
        counted = [a for a in given if a.decided_by_id not in touchers]
        if len({a.decided_by_id for a in counted}) < requirement.approvals:
            return False
        if requirement.platform_admin:
            return any(a.decided_by and is_platform_admin(a.decided_by) for a in counted)
        return True

    def progress(self, plan: Run | None) -> dict[str, Any]:
        """For pages and the API: what the plan needs and what it has."""
        if plan is None:
            return {}
        requirement = Requirement.from_json(plan.approval_requirement)
        given = self.valid_approvals(plan)
        return {
            **requirement.as_json(),
            "approved_by": [a.decided_by.get_username() for a in given if a.decided_by],
            "break_glass": any(a.break_glass for a in given),
            "satisfied": self.satisfied(plan),
            "plan_expires_at": plan_expiry(plan),
        }


def plan_expiry(plan: Run) -> Any:
    """When a plan not yet approved can no longer be approved."""
    return plan.finished_at + approval_ttl() if plan.finished_at else None
