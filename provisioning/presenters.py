"""What the portal and the API show of a resource: sensitive values masked, current run, plan."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, Subquery
from django.utils.dateparse import parse_datetime

from catalog import sensitivity
from catalog.models import TemplateVersion

from .access import RUN_HEAVY_FIELDS
from .actions import proposals
from .approval_policy import ApprovalPolicy
from .choices import RUN_ACTIVE, ApprovalDecision, ResourceStatus, RunKind, RunStatus
from .models import Approval, Resource, ResourceDependency, Run
from .plan_diff import api_changes

MASK = sensitivity.MASK


def drift_resolution(resource: Resource) -> dict[str, Any] | None:
    """After an apply cleared a drift and before the next check: the check that found it
    (run, time) and the run that reconciled or accepted it; else None."""
    resolved = (resource.drift_details or {}).get("resolved") if not resource.drifted else None
    if not isinstance(resolved, dict):
        return None
    found_at = resolved.get("found_at")
    return {**resolved, "found_at": parse_datetime(found_at) if found_at else None}


def activity(resource: Resource) -> str | None:
    """The resource's activity (see `access.with_activity`), from the annotation when present."""
    if hasattr(resource, "activity"):
        return resource.activity
    return (
        Run.objects.filter(resource=resource, status__in=RUN_ACTIVE)
        .exclude(kind=RunKind.DRIFT)
        .order_by("-status")
        .values_list("status", flat=True)
        .first()
    )


def _masked(
    version: TemplateVersion | None, plain: dict[str, Any], has_secrets: bool
) -> dict[str, Any]:
    """Non-sensitive values as stored, every sensitive one as the mask (never decrypted)."""
    sensitive = sensitivity.sensitive_names(version)
    shown = {k: v for k, v in (plain or {}).items() if k not in sensitive}
    if has_secrets:
        shown.update({name: MASK for name in sensitive})
    return shown


def masked_parameters(resource: Resource) -> dict[str, Any]:
    """The resource's current (applied) parameters, sensitive ones masked."""
    return _masked(
        resource.template_version, resource.parameters, bool(resource.sensitive_parameters)
    )


def masked_outputs(resource: Resource) -> dict[str, Any]:
    """Non-sensitive outputs as stored; sensitive ones masked, never decrypted."""
    names = set(resource.sensitive_output_names or [])
    shown = {k: v for k, v in (resource.outputs or {}).items() if k not in names}
    shown.update({name: MASK for name in sorted(names)})
    return shown


def runs_of(resource: Resource) -> Any:
    return Run.objects.filter(resource=resource).defer(*RUN_HEAVY_FIELDS)


def current_run(resource: Resource) -> Run | None:
    """The queued or running run of the resource, if any (a running one first)."""
    return (
        runs_of(resource)
        .filter(status__in=RUN_ACTIVE)
        .order_by("-status", "-created_at", "-id")
        .first()
    )


def latest_plan(resource: Resource) -> Run | None:
    """The plan to show: the pending proposal's plan, else the newest plan of the resource."""
    return proposals.pending_plan(resource) or proposals.latest_plan(resource)


def proposed_change(resource: Resource, page: ResourcePage | None = None) -> dict[str, Any] | None:
    """The pending proposed change beside what is current: version, parameters (sensitive
    masked), which ones change, and what its plan needs and has (None: nothing proposed).
    `page`: what the resource page loaded already (its pending plan, approvals, touchers)."""
    plan = page.pending_plan if page is not None else proposals.pending_plan(resource)
    if plan is None:
        return None
    policy = page.policy if page is not None else ApprovalPolicy.of(resource)
    before = proposals.current(resource)
    after = proposals.proposed(plan)
    authors = page.touchers() if page is not None else _authors(resource, policy)
    return {
        "plan_run": plan.pk,
        "plan_status": plan.status,
        "destroy": plan.is_destroy,
        "version": plan.template_version.number,
        "version_label": plan.template_version.display,
        "parameters": _masked(plan.template_version, plan.parameters, bool(after.secret)),
        "changed": proposals.changed_names(before, after),
        "proposed_by": sorted({u.get_username() for u in authors}),
        "approval": policy.progress(plan) if plan.status == RunStatus.SUCCEEDED else {},
    }


def _authors(resource: Resource, policy: ApprovalPolicy) -> list[Any]:
    return list(get_user_model().objects.filter(pk__in=policy.touchers(resource)))


class _PagePolicy(ApprovalPolicy):
    """The resource's approval policy, asked several times by one page: who touched the change
    is read once, and the approvals of the pending plan come from the page's approvals query.
    The rules are the policy's own; only the reads are shared."""

    def __init__(
        self, resource: Resource, plans: list[Run], approved: dict[int, list[Approval]]
    ) -> None:
        super().__init__(resource.environment)
        self._resource_pk = resource.pk
        self._plans = [(plan.created_by_id, plan.authors) for plan in plans]
        self._approved = approved
        self._touchers: dict[int, set[int]] = {}

    def touchers(
        self, resource: Resource, plans: Iterable[tuple[int | None, Any]] | None = None
    ) -> set[int]:
        if plans is None and resource.pk == self._resource_pk:
            plans = self._plans
        if resource.pk not in self._touchers:
            self._touchers[resource.pk] = super().touchers(resource, plans)
        return self._touchers[resource.pk]

    def valid_approvals(self, plan: Run, approved: list[Approval] | None = None) -> list[Approval]:
        if approved is None:
            approved = self._approved.get(plan.pk)
        return super().valid_approvals(plan, approved)


RUN_LIST_SIZE = 20
APPROVAL_LIST_SIZE = 20


@dataclass
class ResourcePage:
    """What the resource page shows of its runs, approvals and dependencies, each read in one
    query of bounded size however many rows the resource has (`load`)."""

    resource: Resource
    runs: list[Run]  # the newest RUN_LIST_SIZE, newest first
    newest_plan: Run | None
    active: list[Run]  # queued or running, a running one first
    approvals: list[Approval]  # the newest APPROVAL_LIST_SIZE, newest first
    depends_on: list[ResourceDependency]
    used_by: list[ResourceDependency]
    policy: ApprovalPolicy
    _known: dict[int, Any] = field(default_factory=dict, repr=False)  # users read already
    _people: list[Any] | None = field(default=None, repr=False)

    @classmethod
    def load(cls, resource: Resource) -> ResourcePage:
        runs = _page_runs(resource)
        plans = [r for r in runs if r.kind == RunKind.PLAN]
        newest_plan = max(plans, key=lambda r: r.pk) if plans else None
        pending = newest_plan if _is_pending(resource, newest_plan) else None
        # The newest runs overall are the newest of these: the query holds them all.
        listed = sorted(runs, key=lambda r: (r.created_at, r.pk), reverse=True)[:RUN_LIST_SIZE]
        active = sorted(
            (r for r in runs if r.status in RUN_ACTIVE),
            key=lambda r: (r.status, r.created_at, r.pk),
            reverse=True,
        )
        approvals = _page_approvals(resource, pending)
        approved: dict[int, list[Approval]] = {}
        if pending is not None:
            approved[pending.pk] = [
                a
                for a in approvals
                if a.run_id == pending.pk and a.decision == ApprovalDecision.APPROVED
            ]
        links = list(
            ResourceDependency.objects.filter(Q(dependant=resource) | Q(upstream=resource))
            .select_related("upstream__environment", "dependant__environment")
            .order_by("pk")
        )
        return cls(
            resource=resource,
            runs=listed,
            newest_plan=newest_plan,
            active=active,
            approvals=sorted(approvals, key=lambda a: a.created_at, reverse=True)[
                :APPROVAL_LIST_SIZE
            ],
            depends_on=[link for link in links if link.dependant_id == resource.pk],
            used_by=[link for link in links if link.upstream_id == resource.pk],
            policy=_PagePolicy(resource, _since_the_change_began(resource, runs), approved),
            _known=_people_read(resource, runs, approvals),
        )

    @property
    def pending_plan(self) -> Run | None:
        """`proposals.pending_plan`: the newest plan, when it is newer than the last apply."""
        return self.newest_plan if _is_pending(self.resource, self.newest_plan) else None

    @property
    def latest_plan(self) -> Run | None:
        """`latest_plan`: the pending plan, else the newest plan (the same run)."""
        return self.newest_plan

    @property
    def current_run(self) -> Run | None:
        """`current_run`: the queued or running run, a running one first."""
        return self.active[0] if self.active else None

    @property
    def plan_awaiting_decision(self) -> Run | None:
        """`proposals.plan_awaiting_decision`, from the pending plan loaded here."""
        plan = self.pending_plan
        if self.resource.status != ResourceStatus.AWAITING_APPROVAL or plan is None:
            return None
        if plan.status != RunStatus.SUCCEEDED or not plan.plan_hash:
            return None
        return plan

    def touchers(self) -> list[Any]:
        """The people who touched the pending change (`ApprovalPolicy.touchers`), read once."""
        if self._people is None:
            ids = self.policy.touchers(self.resource)
            missing = ids - self._known.keys()  # authors of a chain, seen on no run here
            read = get_user_model().objects.filter(pk__in=missing) if missing else []
            self._people = [self._known[pk] for pk in ids if pk in self._known] + list(read)
        return self._people


def _since_the_change_began(resource: Resource, runs: list[Run]) -> list[Run]:
    """The plans of the pending change (`ApprovalPolicy.touchers` reads their authors)."""
    return [r for r in runs if r.kind == RunKind.PLAN and r.pk > resource.proposal_after_run]


def _people_read(resource: Resource, runs: list[Run], approvals: list[Approval]) -> dict[int, Any]:
    """The users the page's queries joined already, by pk."""
    people = [resource.requested_by, *(r.created_by for r in runs)]
    people += [a.decided_by for a in approvals]
    return {user.pk: user for user in people if user is not None}


def _is_pending(resource: Resource, plan: Run | None) -> bool:
    return plan is not None and plan.pk > resource.proposal_after_run


def _page_runs(resource: Resource) -> list[Run]:
    """In one query: the newest runs (the list), the newest plan, the active runs and the
    plans of the pending change (whoever made them touched it)."""
    newest = (Run.objects.filter(resource=resource).order_by("-created_at", "-id").values("pk"))[
        :RUN_LIST_SIZE
    ]
    newest_plan = (
        Run.objects.filter(resource=resource, kind=RunKind.PLAN).order_by("-pk").values("pk")
    )[:1]
    runs = list(
        runs_of(resource)
        .filter(
            Q(pk__in=Subquery(newest))
            | Q(pk=Subquery(newest_plan))
            | Q(status__in=RUN_ACTIVE)
            | Q(kind=RunKind.PLAN, pk__gt=resource.proposal_after_run)
        )
        .select_related("created_by", "template_version")
        # A version's module files and readme are never shown here, and twenty runs share one.
        .defer("template_version__files", "template_version__readme")
    )
    for run in runs:
        run.resource = resource  # the policy asks a plan for its resource
    return runs


def _page_approvals(resource: Resource, pending: Run | None) -> list[Approval]:
    """In one query: the newest approvals (the list) and the pending plan's approvals."""
    newest = (Approval.objects.filter(resource=resource).order_by("-created_at").values("pk"))[
        :APPROVAL_LIST_SIZE
    ]
    wanted = Q(pk__in=Subquery(newest))
    if pending is not None:
        wanted |= Q(run_id=pending.pk, decision=ApprovalDecision.APPROVED)
    return list(
        Approval.objects.filter(resource=resource).filter(wanted).select_related("decided_by")
    )


PLAN_MARKS = {"create": "+", "delete": "-", "update": "~", "replace": "-/+"}


def plan_addresses(summary: dict[str, Any] | None) -> list[dict[str, str]]:
    """The plan's resources: address, action and its mark (+, ~, -, -/+), no values."""
    rows = []
    for item in (summary or {}).get("resources") or []:
        if isinstance(item, dict):
            action = str(item.get("action", ""))
            rows.append(
                {
                    "address": str(item.get("address", "")),
                    "action": action,
                    "mark": PLAN_MARKS.get(action, "?"),
                }
            )
    return rows


def plan_changes(run: Run) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(resource changes, output changes) of a plan run as the API shows them (for an
    apply: of the plan it applies); empty for plans made before changes were recorded."""
    source = run.plan_run if run.kind != RunKind.PLAN and run.plan_run_id else run
    return api_changes(source.plan_changes if source is not None else {})


POLICY_KEYS = ("passed", "warnings", "failures", "blocking", "overridable", "override", "results")


def policy_summary(run: Run) -> dict[str, Any] | None:
    """The policies' results on a plan (counts, each result, an override), or None."""
    summary = run.policy_summary or {}
    if run.kind != RunKind.PLAN or not summary:
        return None
    return {key: summary.get(key) for key in POLICY_KEYS} | {
        "override": (
            {k: summary["override"].get(k) for k in ("by", "reason", "at")}
            if summary.get("override")
            else None
        ),
        "results": [r for r in summary.get("results", []) if r.get("level") != "passed"]
        + [r for r in summary.get("results", []) if r.get("level") == "passed"],
    }
