"""The approval policy: the one place that decides whether a plan needs approval, how many
approvals from whom, who may not give one, and whether the plan's approvals suffice.

The environment's rule is a floor: a template may add requirements (more approvals, a
platform admin) but never remove them, and neither may anything else. Other apps add
requirements through plan gates (the budget gate of monitoring) registered here.
Every surface (portal, API, Django admin, CLI, `manage.py`) and `allowed_actions` ask it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from idp.choices import PLATFORM_ADMIN_GROUP, Role
from idp.conf import setting
from idp.db import JSONArrayHas
from idp.models import Environment, ServiceAccount
from idp.rbac import has_team_perm, is_platform_admin, restriction_refusal, team_ids
from idp.scopes import APPROVE

from .choices import ApprovalDecision, ResourceStatus, RunKind, RunStatus
from .models import Approval, Resource, Run

MAX_APPROVALS = 5


@dataclass(frozen=True)
class GateResult:
    """What a plan gate adds to a plan's requirement."""

    platform_admin: bool = False
    reason: str = ""
    estimated_monthly_cost: Decimal | None = None
    over_budget: bool = False  # the plan takes its team over budget (no auto-approval then)


# A gate looks at the plan's resource, template version, full parameters, whether the
# plan destroys the resource (keyword `destroy`) and the plan's priced cost (keyword `cost`).
PlanGate = Callable[..., GateResult | None]
_gates: list[PlanGate] = []


def register_plan_gate(gate: PlanGate) -> None:
    """Register a gate (an app's `ready()`); it is asked for every plan."""
    if gate not in _gates:
        _gates.append(gate)


# The role one approver must hold, from least to most: a rule may only raise it.
TEAM_ADMIN = "admin"
PLATFORM_ADMIN = "platform_admin"
RULE_ROLES = ("maintainer", TEAM_ADMIN, PLATFORM_ADMIN)


@dataclass(frozen=True)
class Requirement:
    """What a plan needs before it may be applied; stored with the plan (bound to it)."""

    approvals: int = 0  # distinct approvers needed; 0 = applied without review
    platform_admin: bool = False  # at least one approver must be a platform admin
    reasons: tuple[str, ...] = field(default_factory=tuple)
    estimated_monthly_cost: str | None = None
    role: str = ""  # "admin": at least one approver must be an admin of the team
    auto_approved_by: str = ""  # the approval rule that approved the plan (no person did)
    rules: tuple[str, ...] = field(default_factory=tuple)  # approval rules that added to it
    risk: int = 0  # higher first in the inbox
    over_budget: bool = False

    @property
    def needed(self) -> bool:
        return self.approvals > 0

    @property
    def summary(self) -> str:
        """The requirement in a few words: "2 approvals, one an admin"."""
        if self.auto_approved_by:
            return f"auto-approved by rule {self.auto_approved_by}"
        if not self.needed:
            return "no approval needed"
        who = (
            "a platform admin"
            if self.platform_admin
            else "an admin of the team"
            if self.role == TEAM_ADMIN
            else ""
        )
        if not who:
            return _approvals(self.approvals)
        if self.approvals == 1:
            return f"1 approval, by {who}"
        return f"{_approvals(self.approvals)}, one {who.removesuffix(' of the team')}"

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["reasons"] = list(self.reasons)
        data["rules"] = list(self.rules)
        data["needed"] = self.needed
        data["summary"] = self.summary
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Requirement:
        data = data or {}
        return cls(
            approvals=int(data.get("approvals") or 0),
            platform_admin=bool(data.get("platform_admin")),
            reasons=tuple(data.get("reasons") or ()),
            estimated_monthly_cost=data.get("estimated_monthly_cost"),
            role=str(data.get("role") or ""),
            auto_approved_by=str(data.get("auto_approved_by") or ""),
            rules=tuple(data.get("rules") or ()),
            risk=int(data.get("risk") or 0),
            over_budget=bool(data.get("over_budget")),
        )


# --- approval rules: Rego on the plan that adds to the requirement, or auto-approves --------


@dataclass(frozen=True)
class RuleRequirement:
    """What one approval rule asks of a plan, and why."""

    rule: str  # the rule's slug
    approvals: int = 1
    role: str = ""  # "", maintainer, admin or platform_admin
    reason: str = ""


@dataclass(frozen=True)
class RulesAnswer:
    """Every approval rule's answer on one plan (the policies app evaluates them)."""

    requirements: tuple[RuleRequirement, ...] = ()
    auto_approve: tuple[tuple[str, str], ...] = ()  # (rule, reason)
    errors: tuple[tuple[str, str], ...] = ()  # (rule, message): a broken rule
    context: dict[str, Any] = field(default_factory=dict)  # facts the rules were given

    def as_json(self) -> dict[str, Any]:
        return {
            "requirements": [asdict(r) for r in self.requirements],
            "auto_approve": [{"rule": r, "reason": m} for r, m in self.auto_approve],
            "errors": [{"rule": r, "message": m} for r, m in self.errors],
        }


# The approval rules' evaluator: (plan run, resource, plan `show -json`, the plan's check
# summary, the requirement so far) -> RulesAnswer. Registered by the policies app.
PlanRules = Callable[[Run, Resource, dict[str, Any], dict[str, Any], Requirement], RulesAnswer]
_rule_evaluators: list[PlanRules] = []


def register_approval_rules(evaluator: PlanRules) -> None:
    """Register the approval rules' evaluator (an app's `ready()`); asked for every plan."""
    if evaluator not in _rule_evaluators:
        _rule_evaluators.append(evaluator)


def destroyed_or_replaced(plan: dict[str, Any]) -> list[str]:
    """Addresses a plan (`show -json`) deletes or replaces."""
    return [
        str(rc.get("address", ""))
        for rc in plan.get("resource_changes") or []
        if "delete" in ((rc.get("change") or {}).get("actions") or [])
    ]


def raise_by_rules(
    requirement: Requirement, answer: RulesAnswer, *, blockers: list[str]
) -> Requirement:
    """The requirement after the approval rules: each rule only adds (approvals, a role, a
    platform admin), with its reason; a rule that cannot be evaluated adds one approval at
    least. Auto-approval lowers a needed requirement to none only when a rule allows it,
    no rule adds anything, none is broken and nothing blocks it (`blockers`: why not).
    Pure: the what-if of a draft rule calls it on a stored plan's answer."""
    approvals, role, platform_admin = (
        requirement.approvals,
        requirement.role,
        requirement.platform_admin,
    )
    reasons = list(requirement.reasons)
    rules: list[str] = list(requirement.rules)
    for rule, _message in answer.errors:
        approvals = max(approvals, 1)
        reasons.append(f"approval rule {rule} could not be evaluated, so a person decides")
        rules.append(rule)
    for wanted in answer.requirements:
        approvals = max(approvals, min(max(wanted.approvals, 1), MAX_APPROVALS))
        if wanted.role == PLATFORM_ADMIN:
            platform_admin = True
        elif wanted.role == TEAM_ADMIN:
            role = TEAM_ADMIN
        reasons.append(f"{wanted.reason} (rule {wanted.rule})" if wanted.reason else wanted.rule)
        if wanted.rule not in rules:
            rules.append(wanted.rule)
    raised = dataclasses.replace(
        requirement,
        approvals=approvals,
        role=role,
        platform_admin=platform_admin,
        reasons=tuple(reasons),
        rules=tuple(rules),
    )
    if (
        requirement.needed
        and answer.auto_approve
        and not answer.requirements
        and not answer.errors
        and not blockers
    ):
        rule, reason = sorted(answer.auto_approve)[0]
        raised = dataclasses.replace(
            raised,
            approvals=0,
            role="",
            auto_approved_by=rule,
            reasons=(f"auto-approved by rule {rule}: {reason}",),
            rules=(*rules, rule) if rule not in rules else tuple(rules),
        )
    return dataclasses.replace(raised, risk=risk_of(raised, answer))


def risk_of(requirement: Requirement, answer: RulesAnswer | None = None) -> int:
    """How much a plan's review matters, for the inbox's order: the approvals and roles it
    needs, and how many rules asked for them."""
    if not requirement.needed:
        return 0
    rules = len(answer.requirements) if answer is not None else len(requirement.rules)
    return min(
        requirement.approvals * 10
        + (25 if requirement.role == TEAM_ADMIN else 0)
        + (40 if requirement.platform_admin else 0)
        + 5 * rules,
        32767,
    )


def _approvals(count: int) -> str:
    return f"{count} approval{'' if count == 1 else 's'}"


APPROVER_PERMISSIONS = {"maintainer": "maintain_team", "admin": "manage_team"}
APPROVER_LABELS = {"maintainer": "a maintainer or admin", "admin": "an admin"}


def environment_floor(environment: Environment) -> int:
    """The approvals an environment requires of everything that changes it (plans and
    deployments): 0 when it requires none."""
    return max(1, environment.approvals_required) if environment.requires_approval else 0


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
        approvals = environment_floor(env)
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
                "auto_approve_allowed": env.auto_approve_allowed,
                "ineligible": "everyone who touched the pending change (four eyes)",
                "templates": overrides,
            }
        )
    return rules


def approval_ttl() -> timedelta:
    return timedelta(hours=setting("IDP_APPROVAL_TTL_HOURS"))


def team_admin(user: Any, team: Any) -> bool:
    """Whether `user` is an admin of `team` or a platform admin (a rule's "admin" role)."""
    return user is not None and has_team_perm(user, team, APPROVER_PERMISSIONS[TEAM_ADMIN])


def _authors(run: Run) -> set[int]:
    ids = {int(a) for a in run.authors or []}
    if run.created_by_id:
        ids.add(run.created_by_id)
    return ids


def _service_accounts(user_ids: set[int]) -> list[ServiceAccount]:
    return list(
        ServiceAccount.objects.filter(user_id__in=user_ids).select_related("user").order_by("pk")
    )


def account_may_approve(account: ServiceAccount) -> bool:
    """Whether a service account holds the `approve` scope on a live token or workload
    identity binding: only then may its changes be auto-approved (it still never approves)."""
    from idp.models import APIToken, WorkloadIdentityBinding

    now = timezone.now()
    tokens = APIToken.objects.filter(user_id=account.user_id, revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    if any(APPROVE in (t or []) for t in tokens.values_list("scopes", flat=True)):
        return True
    bindings = WorkloadIdentityBinding.objects.filter(service_account=account)
    return any(APPROVE in (s or []) for s in bindings.values_list("scopes", flat=True))


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
        cost: dict[str, Any] | None = None,
    ) -> Requirement:
        """The environment's floor, raised by the template's policy and by every plan gate
        (which also see the plan's `cost` when it was priced)."""
        env = self.environment
        approvals = environment_floor(env)
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
        over_budget = False
        for gate in _gates:
            result = gate(resource, version, parameters, destroy=destroy, cost=cost)
            if result is None:
                continue
            if result.estimated_monthly_cost is not None:
                estimate = result.estimated_monthly_cost
            over_budget = over_budget or result.over_budget
            if result.platform_admin:
                approvals = max(approvals, 1)
                platform_admin = True
                reasons.append(result.reason)
        return Requirement(
            approvals=approvals,
            platform_admin=platform_admin,
            reasons=tuple(reasons),
            estimated_monthly_cost=str(estimate) if estimate is not None else None,
            over_budget=over_budget,
        )

    def auto_approval_blockers(
        self,
        resource: Resource,
        run: Run,
        plan: dict[str, Any],
        checks: dict[str, Any],
        requirement: Requirement,
    ) -> list[str]:
        """Why no rule may auto-approve this plan (empty: a rule may). The environment must
        allow it; never a plan that destroys or replaces anything, is over budget, has a
        policy failure or warning, needs a platform admin already, or was touched by a
        service account that lacks the `approve` scope."""
        env = self.environment
        blockers = []
        if not env.auto_approve_allowed:
            blockers.append(f"{env.slug} does not allow auto-approval")
        gone = destroyed_or_replaced(plan)
        if run.is_destroy or gone:
            blockers.append("it destroys or replaces " + (", ".join(gone[:3]) or "the resource"))
        if requirement.over_budget:
            blockers.append(f"it takes {resource.team.slug} over its budget")
        if int(checks.get("failures") or 0) or int(checks.get("warnings") or 0):
            blockers.append("a policy fails or warns on it")
        if requirement.platform_admin:
            blockers.append("it needs a platform admin's approval")
        for account in _service_accounts(self.touchers(resource) | _authors(run)):
            if not account_may_approve(account):
                blockers.append(f"service account {account.username} touched it")
        return blockers

    def after_rules(
        self,
        resource: Resource,
        run: Run,
        plan: dict[str, Any],
        checks: dict[str, Any],
        requirement: Requirement,
    ) -> tuple[Requirement, RulesAnswer]:
        """The requirement raised (or auto-approved) by the approval rules on this plan."""
        answers = [e(run, resource, plan, checks, requirement) for e in _rule_evaluators]
        answer = RulesAnswer(
            requirements=tuple(r for a in answers for r in a.requirements),
            auto_approve=tuple(r for a in answers for r in a.auto_approve),
            errors=tuple(r for a in answers for r in a.errors),
        )
        if not (answer.requirements or answer.auto_approve or answer.errors):
            return dataclasses.replace(requirement, risk=risk_of(requirement)), answer
        blockers = (
            self.auto_approval_blockers(resource, run, plan, checks, requirement)
            if answer.auto_approve
            else []
        )
        return raise_by_rules(requirement, answer, blockers=blockers), answer

    # --- who may decide --------------------------------------------------------------

    def touchers(
        self, resource: Resource, plans: Iterable[tuple[int | None, Any]] | None = None
    ) -> set[int]:
        """Everyone who touched the pending change: the requester of a resource never applied,
        and the author of every plan since the change began (parameter changes, upgrades,
        destroy requests, re-plans and retries), with the author chain of the plans the
        platform started (whoever changed the upstream a re-plan follows, and everyone who
        touched that change; `provisioning.causes`). `plans`: (created_by_id, authors) of
        every plan since the change began, when the caller has read them already."""
        ids: set[int] = set()
        if plans is None:
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

    def valid_approvals(self, plan: Run, approved: list[Approval] | None = None) -> list[Approval]:
        """Approvals of exactly this plan file and these policy results, not expired (a
        policy change that changes the results voids the approvals given before it).
        `approved`: the plan's approvals already loaded (decision approved, with decided_by)."""
        now = timezone.now()
        digest = (plan.policy_summary or {}).get("digest", "")
        if approved is None:
            approved = list(
                plan.approvals.filter(decision=ApprovalDecision.APPROVED).select_related(
                    "decided_by"
                )
            )
        return [
            a
            for a in approved
            if a.decision == ApprovalDecision.APPROVED
            and a.plan_hash == plan.plan_hash
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

    def decider_refusal(self, user: Any, team: Any, what: str = "plans") -> str | None:
        """Why `user` may not decide on anything of `team` here, whatever it is (plans,
        deployments): a signed-in person (never a service account) with the environment's
        approver role on the team, or a platform admin. None: they may."""
        if not getattr(user, "is_authenticated", False):
            return f"Sign in to decide on {what}"
        if ServiceAccount.of(user) is not None:
            # Automation may request and plan, never decide: approvals are people's.
            return f"A service account never approves or rejects {what}"
        if not is_platform_admin(user) and not has_team_perm(user, team, self.approver_permission):
            return (
                f"Your role in {team.slug} does not allow you to approve {what} in "
                f"{self.environment.slug} (approvers: {self.approvers(team.slug)})"
            )
        return None

    def refusal(self, resource: Resource, plan: Run | None, user: Any) -> str | None:
        """Why `user` may not approve or reject the pending plan (None: they may)."""
        refused = self.decider_refusal(user, resource.team)
        if refused is not None:
            return refused
        admin = is_platform_admin(user)
        restricted = restriction_refusal(user, resource)
        if restricted is not None:
            return restricted
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
        if requirement.role == TEAM_ADMIN and not team_admin(user, resource.team):
            admin_given = any(team_admin(a.decided_by, resource.team) for a in given)
            if not admin_given and requirement.approvals - len(given) <= 1:
                reason = "; ".join(requirement.reasons) or "this plan"
                return (
                    f"The last approval this plan needs must come from an admin of "
                    f"{resource.team.slug} or a platform admin ({reason})"
                )
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
        if requirement.platform_admin and not any(
            a.decided_by and is_platform_admin(a.decided_by) for a in counted
        ):
            return False
        if requirement.role == TEAM_ADMIN:
            return any(team_admin(a.decided_by, plan.resource.team) for a in counted)
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


# --- who may decide, for many plans at once (the inbox and its badge) ------------------------
# `refusal` above in one query: keep the two in step (tests/provisioning/surfaces/
# test_inbox_queries.py compares them on a matrix of cases).


def awaiting_decision(plans: QuerySet[Run] | None = None) -> QuerySet[Run]:
    """Every plan (of `plans`) awaiting a decision (`proposals.plan_awaiting_decision` of
    each resource): the newest plan of its resource's pending change, succeeded, with a
    plan file, the resource awaiting approval, and the approval window still open."""
    newer = Run.objects.filter(
        resource=OuterRef("resource"), kind=RunKind.PLAN, pk__gt=OuterRef("pk")
    )
    return (
        (Run.objects.all() if plans is None else plans)
        .filter(
            kind=RunKind.PLAN,
            status=RunStatus.SUCCEEDED,
            resource__status=ResourceStatus.AWAITING_APPROVAL,
            pk__gt=F("resource__proposal_after_run"),
        )
        .exclude(plan_hash="")
        .exclude(Exists(newer))
        .filter(Q(finished_at__isnull=True) | Q(finished_at__gt=timezone.now() - approval_ttl()))
    )


def _valid_approvals_of_plan() -> QuerySet[Approval]:
    """`ApprovalPolicy.valid_approvals` of the outer query's plan, as a subquery."""
    return Approval.objects.filter(
        run=OuterRef("pk"),
        decision=ApprovalDecision.APPROVED,
        plan_hash=OuterRef("plan_hash"),
        policy_digest=OuterRef("_policy_digest"),
    ).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))


def decidable_plans(user: Any) -> QuerySet[Run]:
    """The plans awaiting a decision that `user` may approve or reject: those where
    `ApprovalPolicy.refusal` answers None, decided in the database for any number of plans.

    A person (never a service account) who sees the team; with the environment's approver
    role on it, or a platform admin; who touched nothing of the pending change (`touchers`:
    requester of a resource never applied, starter or author of any plan since the change
    began); who has not approved this plan yet; and, when the plan needs a platform admin,
    not the last approval it needs unless a platform admin already approved."""
    if not getattr(user, "is_authenticated", False) or ServiceAccount.of(user) is not None:
        return Run.objects.none()
    plans = awaiting_decision(Run.objects.operable_by(user, "view_team"))
    admin = is_platform_admin(user)
    if not admin:
        roles = Q()
        for role, perm in APPROVER_PERMISSIONS.items():
            roles |= Q(
                resource__environment__approver_role=role,
                resource__team_id__in=team_ids(user, perm),
            )
        # Any other role falls back to maintainers (`approver_permission`).
        roles |= Q(resource__team_id__in=team_ids(user, "maintain_team")) & ~Q(
            resource__environment__approver_role__in=list(APPROVER_PERMISSIONS)
        )
        plans = plans.filter(roles)
    touched = Run.objects.filter(
        resource=OuterRef("resource"),
        kind=RunKind.PLAN,
        pk__gt=OuterRef("resource__proposal_after_run"),
    ).filter(Q(created_by=user.pk) | Q(JSONArrayHas("authors", user.pk)))
    plans = (
        plans.exclude(Exists(touched))
        .exclude(resource__provisioned_at__isnull=True, resource__requested_by=user.pk)
        .annotate(
            _policy_digest=Coalesce(
                KT("policy_summary__digest"), Value(""), output_field=CharField()
            )
        )
    )
    valid = _valid_approvals_of_plan()
    plans = plans.exclude(Exists(valid.filter(decided_by=user.pk)))
    if not admin:
        given = Coalesce(
            Subquery(
                valid.order_by().values("run").annotate(n=Count("pk")).values("n")[:1],
                output_field=IntegerField(),
            ),
            Value(0),
        )
        needed = Coalesce(Cast(KT("approval_requirement__approvals"), IntegerField()), Value(0))
        by_admin = valid.filter(
            Q(decided_by__is_superuser=True) | Q(decided_by__groups__name=PLATFORM_ADMIN_GROUP)
        )
        # A missing key reads as False (as `Requirement.from_json`), never as SQL's NULL.
        needs_admin = Case(
            When(approval_requirement__platform_admin=True, then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
        plans = plans.annotate(_needs_admin=needs_admin, _gap=needed - given).exclude(
            Q(_needs_admin=True) & ~Exists(by_admin) & Q(_gap__lte=1)
        )
        # An approval rule's "admin" role: the last approval needed comes from an admin of
        # the team (or a platform admin) unless one approved already.
        by_team_admin = valid.filter(
            Q(decided_by__is_superuser=True)
            | Q(decided_by__groups__name=PLATFORM_ADMIN_GROUP)
            | Q(
                decided_by__memberships__team_id=OuterRef("resource__team_id"),
                decided_by__memberships__role=Role.ADMIN,
            )
        )
        # A missing key reads as "" (as `Requirement.from_json`), never as SQL's NULL.
        needs_team_admin = Case(
            When(approval_requirement__role=TEAM_ADMIN, then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
        held = Q(_needs_team_admin=True) & ~Exists(by_team_admin) & Q(_gap__lte=1)
        admin_of = team_ids(user, APPROVER_PERMISSIONS[TEAM_ADMIN]) or []
        if admin_of:
            held &= ~Q(resource__team_id__in=admin_of)
        plans = plans.annotate(_needs_team_admin=needs_team_admin).exclude(held)
    return plans


def plan_expiry(plan: Run) -> Any:
    """When a plan not yet approved can no longer be approved."""
    return plan.finished_at + approval_ttl() if plan.finished_at else None
