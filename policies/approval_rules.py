"""Approval rules: Rego on the plan that says what a plan needs before it is applied.

An approval rule is a policy file whose package sits under `<namespace>.approval` (same
folders, `# METADATA` and scope as the deny/warn policies). It answers two sets:

    require contains {"approvals": 2, "role": "admin", "msg": "...", "address": "..."}
    auto_approve contains "a no-op plan"        # or {"msg": ...}

`role` is one of maintainer, admin (of the owning team) or platform_admin; `approvals`
defaults to 1. The environment's rule stays the floor: requirements only add, and
auto-approval needs the environment's `auto_approve_allowed` and nothing against it
(`ApprovalPolicy.auto_approval_blockers`, `raise_by_rules`).

The rules see the plan (`show -json`) with `input.idp`: the deny/warn policies' context plus
the floor requirement, the cost before and after, the remaining budget, the plan's policy
results, the service's lifecycle and tier, the resource's live dependants and the author's
recent failed applies (`approval_document`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from idp.conf import setting
from provisioning.approval_policy import (
    MAX_APPROVALS,
    RULE_ROLES,
    ApprovalPolicy,
    Requirement,
    RuleRequirement,
    RulesAnswer,
    raise_by_rules,
)
from provisioning.choices import RunKind, RunStatus
from provisioning.models import Resource, Run

from .choices import PolicyKind
from .engine import MESSAGE_LIMIT, PolicyError, Source, compile_module, query
from .engine import _set_input as set_input
from .loader import _PACKAGE, kind_of

FAILED_APPLIES_DAYS = 30


# --- the input -----------------------------------------------------------------------------


def _current_estimate(resource: Resource) -> float | None:
    """What the resource costs now: the estimate of the plan behind its last apply."""
    if resource.provisioned_at is None:
        return 0.0
    stored = (
        Run.objects.filter(
            resource=resource,
            kind=RunKind.APPLY,
            status=RunStatus.SUCCEEDED,
            is_destroy=False,
            pk__lte=resource.proposal_after_run,
        )
        .exclude(plan_run=None)
        .order_by("-pk")
        .values_list("plan_run__approval_requirement", flat=True)
        .first()
    )
    value = Requirement.from_json(stored).estimated_monthly_cost if stored else None
    return float(value) if value is not None else None


def _failed_applies(user_id: int | None) -> int:
    """Applies of the author's plans that failed in the last 30 days."""
    if user_id is None:
        return 0
    since = timezone.now() - timedelta(days=FAILED_APPLIES_DAYS)
    return Run.objects.filter(
        kind__in=(RunKind.APPLY, RunKind.DESTROY),
        status=RunStatus.FAILED,
        plan_run__created_by_id=user_id,
        created_at__gte=since,
    ).count()


def approval_document(
    run: Run,
    resource: Resource,
    plan: dict[str, Any],
    checks: dict[str, Any],
    requirement: Requirement,
) -> dict[str, Any]:
    """The approval rules' input: the plan with `input.idp` (see the module's docstring)."""
    from idp.models import ServiceAccount
    from provisioning.actions.dependencies import live_dependants

    from .services import platform_context

    estimate = (
        Decimal(requirement.estimated_monthly_cost)
        if requirement.estimated_monthly_cost is not None
        else None
    )
    context = platform_context(resource, run, estimate)
    # The plan's priced cost (monitoring's price catalog) where it was priced, else the
    # estimates: what the resource costs now and after this plan.
    priced = run.cost if isinstance(run.cost, dict) and run.cost.get("monthly_after") else None
    if priced is not None:
        before: float | None = float(priced["monthly_before"])
        after: float | None = float(priced["monthly_after"])
    else:
        before = _current_estimate(resource)
        after = 0.0 if run.is_destroy else (float(estimate) if estimate is not None else None)
    budget, spent = context.get("budget"), context.get("month_to_date")
    author = run.created_by or resource.requested_by
    service = resource.service
    results = checks.get("results") or []
    return {
        **plan,
        "idp": {
            **context,
            "auto_approve_allowed": resource.environment.auto_approve_allowed,
            "requirement": {
                "approvals": requirement.approvals,
                "platform_admin": requirement.platform_admin,
                "reasons": list(requirement.reasons),
            },
            "cost": {
                **(priced or {}),
                "before": before,
                "after": after,
                "delta": (after - before) if after is not None and before is not None else None,
            },
            "budget_remaining": (budget - spent) if budget is not None else None,
            "approval_cost_share": setting("IDP_APPROVAL_COST_SHARE"),
            "over_budget": requirement.over_budget,
            "policy": {
                "failures": int(checks.get("failures") or 0),
                "warnings": int(checks.get("warnings") or 0),
                "messages": [
                    {"policy": r.get("policy"), "level": r.get("level"), "msg": r.get("message")}
                    for r in results
                    if r.get("level") in ("warning", "failure")
                ],
            },
            "service": (
                {"slug": service.slug, "lifecycle": service.lifecycle, "tier": service.tier}
                if service is not None
                else None
            ),
            "dependants": [
                {"resource": d.name, "environment": d.environment.slug}
                for d in live_dependants(resource)
            ],
            "author": {
                "username": author.get_username() if author else "",
                "service_account": ServiceAccount.of(author) is not None,
                "recent_failed_applies": _failed_applies(author.pk if author else None),
            },
        },
    }


# --- evaluation ----------------------------------------------------------------------------


def _entries(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [] if value in (None, False) else [value]


def _message(entry: Any) -> str:
    text = (entry.get("msg") or entry.get("message") or "") if isinstance(entry, dict) else entry
    return str(text)[:MESSAGE_LIMIT]


def _requirement(slug: str, entry: Any) -> RuleRequirement:
    """One `require` entry read and checked; PolicyError names what is wrong with it."""
    if not isinstance(entry, dict):
        return RuleRequirement(rule=slug, approvals=1, reason=_message(entry))
    approvals = entry.get("approvals", 1)
    if isinstance(approvals, bool) or not isinstance(approvals, int) or approvals < 1:
        raise PolicyError(f"{slug}: require: approvals must be a whole number from 1")
    role = str(entry.get("role") or "")
    if role and role not in RULE_ROLES:
        raise PolicyError(f"{slug}: require: role must be one of {', '.join(RULE_ROLES)}")
    return RuleRequirement(
        rule=slug, approvals=min(approvals, MAX_APPROVALS), role=role, reason=_message(entry)
    )


def evaluate_rules(rules: Sequence[Source], document: dict[str, Any]) -> RulesAnswer:
    """Every approval rule's answer on one input document. Each rule runs in its own
    interpreter: a broken rule is an error of its own (a person then decides), never a
    silent pass. Pure: the what-if of a draft rule calls it on stored plans."""
    requirements: list[RuleRequirement] = []
    auto: list[tuple[str, str]] = []
    errors: list[tuple[str, str]] = []
    for rule in rules:
        name = f"{rule.slug}.rego"
        try:
            interpreter = compile_module(name, rule.source)
            set_input(interpreter, document, name)
            value = query(interpreter, f"data.{rule.package}", name=name, source=rule.source)
            value = value if isinstance(value, dict) else {}
            found = [_requirement(rule.slug, e) for e in _entries(value.get("require"))]
        except PolicyError as error:
            errors.append((rule.slug, str(error)[:MESSAGE_LIMIT]))
            continue
        requirements.extend(found)
        auto.extend(
            (rule.slug, _message(e) or "allowed") for e in _entries(value.get("auto_approve"))
        )
    return RulesAnswer(
        requirements=tuple(requirements), auto_approve=tuple(auto), errors=tuple(errors)
    )


def rules_in_force(resource: Resource) -> tuple[list[Source], list[tuple[str, str]]]:
    """The approval rules that judge this resource's plans, and those that do not load
    (slug, why)."""
    from .services import applicable

    rules = applicable(
        environment=resource.environment.slug,
        template=resource.template.slug,
        team=resource.team.slug,
        kind=PolicyKind.APPROVAL,
    )
    sources, broken = [], []
    for rule in rules:
        version = rule.current_version
        if rule.sync_error or version is None:
            broken.append((rule.slug, f"the rule does not load: {rule.sync_error}"[:2000]))
            continue
        sources.append(Source(rule.slug, version.number, rule.package, version.source))
    return sources, broken


def answer_for_plan(
    run: Run,
    resource: Resource,
    plan: dict[str, Any],
    checks: dict[str, Any],
    requirement: Requirement,
    *,
    drafts: Sequence[Source] = (),
) -> RulesAnswer:
    """The approval rules in force (and `drafts`: a draft named like a rule in force takes
    its place) on one plan. Registered with provisioning's approval policy."""
    sources, broken = rules_in_force(resource)
    drafted = {d.slug for d in drafts}
    sources = [s for s in sources if s.slug not in drafted] + list(drafts)
    broken = [b for b in broken if b[0] not in drafted]
    if not sources and not broken:
        return RulesAnswer()
    document = approval_document(run, resource, plan, checks, requirement)
    answer = evaluate_rules(sources, document)
    return RulesAnswer(
        requirements=answer.requirements,
        auto_approve=answer.auto_approve,
        errors=(*answer.errors, *broken),
    )


_DRAFT_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


def draft_rule(source: str, *, slug: str = "draft") -> Source:
    """A draft approval rule's text as a Source; PolicyError (with file:line) when it does
    not parse or its package is not under `<namespace>.approval`."""
    name = f"{slug}.rego"
    if not _DRAFT_SLUG.match(slug):
        raise PolicyError(f"{name}: a rule is named with lowercase letters, digits, - or _")
    match = _PACKAGE.search(source)
    if match is None:
        raise PolicyError(f"{name}:1: no `package` line")
    package = match.group(1)
    if kind_of(package) != PolicyKind.APPROVAL:
        namespace = setting("IDP_POLICY_NAMESPACE")
        line = source.count("\n", 0, match.start()) + 1
        raise PolicyError(
            f"{name}:{line}: an approval rule's package sits under {namespace}.approval"
        )
    compile_module(name, source)
    return Source(slug, None, package, source)


def requirement_for_stored_plan(
    run: Run, *, drafts: Sequence[Source] = ()
) -> tuple[Requirement, RulesAnswer] | None:
    """What a stored plan would need under today's environment rule and approval rules, with
    `drafts` added or in place of the rules they are named like: the what-if of a draft.
    Reads the plan's kept JSON; None when it is no longer kept. Changes nothing."""
    from provisioning.crypto import decrypt_json

    if not run.plan_document:
        return None
    resource = run.resource
    plan = decrypt_json(run.plan_document)
    checks = run.policy_summary or {}
    policy = ApprovalPolicy.of(resource)
    floor = policy.requirement(
        resource, run.template_version, run.parameters or {}, destroy=run.is_destroy
    )
    answer = answer_for_plan(run, resource, plan, checks, floor, drafts=drafts)
    blockers = (
        policy.auto_approval_blockers(resource, run, plan, checks, floor)
        if answer.auto_approve
        else []
    )
    return raise_by_rules(floor, answer, blockers=blockers), answer
