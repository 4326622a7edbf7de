"""The approvals inbox: the plans awaiting *this user's* decision.

Who may decide is the approval policy's answer alone: `approval_policy.decidable_plans`,
its rule (`ApprovalPolicy.refusal`) as one query, so the badge is one COUNT and a page of the
inbox a few queries however many plans wait. This module describes each plan for the
portal, the API, the CLI and Django admin.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.paginator import Page
from django.db import transaction
from django.db.models import F, JSONField, OuterRef, QuerySet, Subquery

from catalog.services.costs import decimal_or_none
from idp.actors import Person
from idp.paginator import CountCachingPaginator
from idp.rbac import GRANTS_VERSION_KEY, shared_cache

from .. import lifecycle
from ..approval_policy import ApprovalPolicy, Requirement, decidable_plans, plan_expiry
from ..choices import ApprovalDecision, ResourceStatus, RunKind, RunStatus
from ..models import Approval, Resource, Run
from ..plan_summary import plan_counts
from . import proposals

# The navigation's badge counts up to this many and shows "99+" beyond: every page pays for a
# few rows, not for every waiting plan.
BADGE_MAX = 99

# Columns of a plan never needed to describe it (bytes, and the rendered plan text).
_PLAN_DEFERRED = ("plan_file", "pending_state", "plan_text")


@dataclass
class Pending:
    """A plan awaiting a decision, with its resource (team, environment, template loaded)."""

    resource: Resource
    plan: Run


@dataclass
class InboxItem:
    """What an approver needs to decide on one plan."""

    resource: Resource
    plan: Run
    change: str  # create, change, upgrade or destroy
    requested_by: str | None
    counts: dict[str, int]
    changed_parameters: list[str]
    estimated_monthly_cost: Decimal | None
    current_monthly_cost: Decimal | None
    monthly_cost_change: Decimal | None
    needs_platform_admin: bool
    reasons: list[str]
    approvals_needed: int
    approved_by: list[str]
    planned_at: datetime | None
    closes_at: datetime | None
    role: str = ""  # "admin": one approver must be an admin of the team
    summary: str = ""  # "2 approvals, one an admin"
    risk: int = 0

    @property
    def plan_run(self) -> int:
        return int(self.plan.pk)

    @property
    def approvals_given(self) -> int:
        return len(self.approved_by)

    @property
    def policy(self) -> dict[str, Any]:
        """The plan's policy results in counts (a plan that waits here passed or was let
        past its mandatory policies)."""
        summary = self.plan.policy_summary or {}
        return {
            "passed": int(summary.get("passed", 0)),
            "warnings": int(summary.get("warnings", 0)),
            "failures": int(summary.get("failures", 0)),
            "overridden": bool(summary.get("override")),
        }

    def as_json(self) -> dict[str, Any]:
        """The item as the API shows it (money as strings with two decimals)."""

        def money(value: Decimal | None) -> str | None:
            return None if value is None else f"{value:.2f}"

        r, plan = self.resource, self.plan
        return {
            "id": self.plan_run,
            "plan_run": self.plan_run,
            "resource": {"id": r.pk, "name": r.name},
            "team": r.team.slug,
            "environment": r.environment.slug,
            "template": r.template.slug,
            "version": plan.template_version.number,
            "version_label": plan.template_version.display,
            "current_version": r.template_version.number if r.provisioned_at else None,
            "current_version_label": r.template_version.display if r.provisioned_at else None,
            "change": self.change,
            "requested_by": self.requested_by,
            "plan_counts": self.counts,
            "changed_parameters": self.changed_parameters,
            "estimated_monthly_cost": money(self.estimated_monthly_cost),
            # The plan's cost priced from its changes: a line per resource (None: not priced).
            "cost": plan.cost,
            "budget_effect": {
                "current_monthly_cost": money(self.current_monthly_cost),
                "monthly_cost_change": money(self.monthly_cost_change),
                "needs_platform_admin": self.needs_platform_admin,
                "reasons": self.reasons,
            },
            "policy": self.policy,
            "approvals": {
                "needed": self.approvals_needed,
                "given": self.approvals_given,
                "approved_by": self.approved_by,
                "role": self.role,
                "summary": self.summary,
                "reasons": self.reasons,
                "risk": self.risk,
            },
            "plan_created_at": plan.created_at,
            "planned_at": self.planned_at,
            "approval_closes_at": self.closes_at,
        }


# The inbox's order: riskiest first (`Run.risk`, from the approval rules), then the window
# closing soonest (it closes `approval_ttl` after the plan finished); the order of the
# partial index `run_decidable_plans_idx`.
_INBOX_ORDER = ("-risk", F("finished_at").asc(nulls_last=True), "pk")


def awaiting(user: Person) -> QuerySet[Run]:
    """The plans awaiting `user`'s decision (the approval policy's `decidable_plans`, one
    query however many plans wait), each with its resource, riskiest first (`Run.risk`),
    then the window closing soonest. Lazy: a page of it reads only that page."""
    return _described(decidable_plans(user)).order_by(*_INBOX_ORDER)


def awaiting_ids(user: Person) -> QuerySet[Run, int]:
    """The ids of the plans awaiting `user`'s decision, in the inbox's order: the policy's
    query without the columns to show, which PostgreSQL plans in a tenth of the time. Page
    it, then read the page's plans with `pending_of`."""
    return decidable_plans(user).order_by(*_INBOX_ORDER).values_list("pk", flat=True)


def pending_of(ids: Iterable[int]) -> list[Pending]:
    """The plans `ids` (found by `awaiting_ids`) as inbox entries, in that order."""
    ids = list(ids)
    by_id = {plan.pk: plan for plan in _described(Run.objects.filter(pk__in=ids).order_by())}
    return pending(by_id[pk] for pk in ids if pk in by_id)


def page(user: Person, number: Any, size: int) -> tuple[Page[int], list[Pending]]:
    """One page of the plans awaiting `user`'s decision, and those plans: the first page
    walks the inbox's index in order; the total is exact up to the badge's limit and, past
    it, counted at most once a minute per user."""
    found = CountCachingPaginator(
        awaiting_ids(user),
        size,
        exact_limit=BADGE_MAX,
        count_key=f"inbox:{user.pk}",
        first_page_in_order=True,
    ).get_page(number)
    return found, pending_of(found)


def _described(plans: QuerySet[Run]) -> QuerySet[Run]:
    """`plans` with the resource and what describing them reads, without the bytes."""
    return plans.select_related(
        "template_version",
        "created_by",
        "resource__team",
        "resource__environment",
        "resource__template",
        "resource__template_version",
        "resource__requested_by",
    ).defer(
        *_PLAN_DEFERRED,
        "template_version__files",
        "resource__template_version__files",
        "resource__outputs",
        "resource__sensitive_outputs",
        "resource__drift_details",
    )


def pending(plans: Iterable[Run]) -> list[Pending]:
    """The plans as inbox entries (their resources were loaded with them)."""
    return [Pending(plan.resource, plan) for plan in plans]


def inbox_count(user: Person, *, at_most: int | None = None) -> int:
    """How many plans await `user`'s decision: one COUNT query. With `at_most`, counting
    stops past that many (the navigation badge shows "99+"): the database then reads a few
    rows, not every waiting plan (30-45 ms at 5,000 of them)."""
    if not getattr(user, "is_authenticated", False):
        return 0
    plans = decidable_plans(user)
    if at_most is not None:
        return plans.order_by()[: at_most + 1].count()
    return plans.count()


# The badge is kept in the shared cache (when there is one) for up to BADGE_TTL seconds, under
# the versions of what awaits a decision and of everyone's grants: a resource moving into or
# out of approval, an approval given or withdrawn, and any membership or permission change
# replace them when they commit. Only a plan's approval window closing goes unseen, for at
# most BADGE_TTL seconds.
BADGE_TTL = 30
_BADGE_VERSION_KEY = "idp:inbox:version"


def badge_count(user: Person) -> int:
    """`inbox_count(user, at_most=BADGE_MAX)` for the navigation's badge on every page: from
    the shared cache while nothing it depends on changed, else counted (one query)."""
    cache = shared_cache()
    if cache is None or not getattr(user, "is_authenticated", False):
        return inbox_count(user, at_most=BADGE_MAX)
    key = f"idp:inbox:badge:{user.pk}"
    # With Redis down these read as misses: counted every time, nothing kept.
    found = cache.get_many([_BADGE_VERSION_KEY, GRANTS_VERSION_KEY, key])
    for name in (_BADGE_VERSION_KEY, GRANTS_VERSION_KEY):
        if found.get(name) is None:
            cache.add(name, secrets.token_hex(8), None)
            found[name] = cache.get(name)
    version = (found[_BADGE_VERSION_KEY], found[GRANTS_VERSION_KEY])
    entry = found.get(key)
    if entry is not None and tuple(entry[0]) == version:
        return int(entry[1])
    count = inbox_count(user, at_most=BADGE_MAX)
    if None not in version:
        cache.set(key, (version, count), BADGE_TTL)
    return count


def inbox_changed() -> None:
    """Every cached badge is recounted once the current transaction commits."""
    cache = shared_cache()
    if cache is not None:
        transaction.on_commit(lambda: cache.set(_BADGE_VERSION_KEY, secrets.token_hex(8), None))


def _resource_moved(moved: lifecycle.Moved) -> None:
    if ResourceStatus.AWAITING_APPROVAL in (moved.before, moved.after):
        inbox_changed()


def _approval_written(**kwargs: Any) -> None:
    inbox_changed()


def register() -> None:
    """Follow what changes the badge (the app's `ready()`)."""
    from django.db.models.signals import post_delete, post_save

    lifecycle.on_resource_moved(_resource_moved)
    for signal in (post_save, post_delete):
        signal.connect(_approval_written, sender=Approval, dispatch_uid=f"inbox-{signal}")


def find(user: Person, plan_run: int) -> Pending | None:
    """The plan run `plan_run` when it awaits `user`'s decision, else None (another team's
    plan, an older plan of the resource, one the user may not decide on)."""
    if not getattr(user, "is_authenticated", False):
        return None
    plan = awaiting(user).filter(pk=plan_run).first()
    return Pending(plan.resource, plan) if plan is not None else None


def _current_cost_subquery() -> Subquery:
    """The estimate stored with the plan behind the resource's last successful apply (what
    it costs now); the resource's own estimate already follows the pending plan."""
    return Subquery(
        Run.objects.filter(
            resource=OuterRef("pk"),
            kind=RunKind.APPLY,
            status=RunStatus.SUCCEEDED,
            is_destroy=False,
            pk__lte=OuterRef("proposal_after_run"),
        )
        .exclude(plan_run=None)
        .order_by("-pk")
        .values("plan_run__approval_requirement")[:1],
        output_field=JSONField(),
    )


def describe(pending: list[Pending]) -> list[InboxItem]:
    """Describe the plans for approvers: counts, changed parameter names, cost and budget
    effect, approvals so far, plan age and when the approval window closes."""
    if not pending:
        return []
    current_costs = dict(
        Resource.objects.filter(pk__in=[p.resource.pk for p in pending])
        .annotate(current=_current_cost_subquery())
        .values_list("pk", "current")
    )
    approved: dict[int, list[Approval]] = defaultdict(list)
    for approval in Approval.objects.filter(
        run__in=[p.plan.pk for p in pending], decision=ApprovalDecision.APPROVED
    ).select_related("decided_by"):
        approved[approval.run_id].append(approval)
    items = []
    for p in pending:
        resource, plan = p.resource, p.plan
        policy = ApprovalPolicy.of(resource)
        requirement = Requirement.from_json(plan.approval_requirement)
        given = policy.valid_approvals(plan, approved[plan.pk])
        provisioned = resource.provisioned_at is not None
        if plan.is_destroy:
            change, changed = "destroy", []
        elif not provisioned:
            change, changed = "create", sorted(proposals.proposed(plan).values)
        else:
            changed = proposals.changed_names(proposals.current(resource), proposals.proposed(plan))
            upgrade = plan.template_version_id != resource.template_version_id
            change = "upgrade" if upgrade else "change"
        estimate = (
            Decimal(0) if plan.is_destroy else decimal_or_none(requirement.estimated_monthly_cost)
        )
        current = (
            decimal_or_none(
                Requirement.from_json(current_costs.get(resource.pk)).estimated_monthly_cost
            )
            if provisioned
            else Decimal(0)
        )
        change_of_cost = (
            estimate - current if estimate is not None and current is not None else None
        )
        if plan.cost and not plan.cost.get("unpriced"):
            # Priced before and after from the plan itself: the delta is the plan's own.
            current = decimal_or_none(plan.cost["monthly_before"])
            change_of_cost = decimal_or_none(plan.cost["delta"])
        author = plan.created_by or resource.requested_by
        items.append(
            InboxItem(
                resource=resource,
                plan=plan,
                change=change,
                requested_by=author.get_username() if author else None,
                counts=plan_counts(plan.plan_summary),
                changed_parameters=changed,
                estimated_monthly_cost=estimate,
                current_monthly_cost=current,
                monthly_cost_change=change_of_cost,
                needs_platform_admin=requirement.platform_admin,
                reasons=list(requirement.reasons),
                approvals_needed=requirement.approvals,
                approved_by=[a.decided_by.get_username() for a in given if a.decided_by],
                role=requirement.role,
                summary=requirement.summary,
                risk=plan.risk,
                planned_at=plan.finished_at,
                closes_at=plan_expiry(plan),
            )
        )
    return items


def inbox_items(user: Person) -> list[InboxItem]:
    """The plans awaiting `user`'s decision, described (riskiest first, then the window
    closing soonest)."""
    return describe(pending(awaiting(user)))


def inbox_item(user: Person, plan_run: int) -> InboxItem | None:
    """One plan awaiting `user`'s decision, described; None when it does not await them."""
    found = find(user, plan_run)
    return describe([found])[0] if found is not None else None
