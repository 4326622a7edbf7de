"""What-if: a draft policy replayed against the plans of the last days before it is enabled.

Every plan's JSON is kept with it, encrypted (`Run.plan_document`), for
`IDP_PLAN_RETENTION_DAYS`. A draft (a `.rego` text with the usual `# METADATA`) is compiled
once and evaluated on each stored plan in its scope, with the plan's platform context as
policies see it (`input.idp`; the budget figures are today's, the rest the plan's). The
answer says how many plans would newly fail (be blocked), newly warn, or no longer fail
where a policy of the same name is in force today, by team and template, with the plans.
A draft that does not compile is refused with its file and line; nothing is stored.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from regopy import Interpreter, RegoError  # type: ignore[import-untyped]

from idp.conf import setting
from idp.crypto import decrypt_json
from provisioning.choices import RunKind, RunStatus
from provisioning.models import Run

from .choices import BLOCKING, Enforcement, Level, PolicyKind
from .engine import PolicyError, Source, describe_rego_error, query
from .engine import _findings as findings_of
from .loader import ParsedPolicy, parse_source
from .services import platform_context

# How many changed plans an answer lists (the counts cover them all).
LISTED = 200
MAX_DAYS = 366


@dataclass(frozen=True)
class Replayed:
    """One stored plan whose outcome the draft changes."""

    run: int
    resource: int
    name: str
    team: str
    template: str
    environment: str
    planned_at: str
    before: str  # "failure", "warning" or "passed": the same-named policy in force, if any
    after: str  # what the draft says
    blocked_before: bool  # the plan was blocked by the policies in force
    blocked_after: bool  # … and with the draft in place of its namesake
    messages: list[str]
    kind: str = ""  # an approval rule's change (`_approval_change`); deny/warn: derived

    @property
    def change(self) -> str:
        if self.kind:
            return self.kind
        if self.blocked_after and not self.blocked_before:
            return "newly blocked"
        if self.blocked_before and not self.blocked_after:
            return "no longer blocked"
        if self.after == Level.WARNING and self.before == Level.PASSED:
            return "newly warned"
        if self.after == Level.FAILURE and self.before != Level.FAILURE:
            return "newly failing"  # blocked by another policy already
        return "eased"  # fails or warns less than the policy in force


@dataclass
class WhatIf:
    """The draft's effect on the stored plans of the last `days` days."""

    policy: str
    title: str
    enforcement: str
    scope: dict[str, list[str]]
    replaces: bool  # a policy of that name is in force today
    days: int
    plans: int = 0  # stored plans in the draft's scope
    newly_blocked: int = 0
    no_longer_blocked: int = 0
    newly_warned: int = 0
    failing: int = 0  # plans the draft fails (blocking or not)
    warning: int = 0
    unchanged: int = 0
    errors: int = 0  # plans the draft could not be evaluated on
    # An approval rule's draft: what the plans would need instead.
    kind: str = "deny/warn"
    more_approvals: int = 0
    fewer_approvals: int = 0
    newly_auto_approved: int = 0
    no_longer_auto_approved: int = 0
    by_team: dict[str, dict[str, int]] = field(default_factory=dict)
    by_template: dict[str, dict[str, int]] = field(default_factory=dict)
    by_day: list[dict[str, Any]] = field(default_factory=list)
    changed: list[Replayed] = field(default_factory=list)
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "title": self.title,
            "enforcement": self.enforcement,
            "scope": self.scope,
            "replaces": self.replaces,
            "days": self.days,
            "plans": self.plans,
            "newly_blocked": self.newly_blocked,
            "no_longer_blocked": self.no_longer_blocked,
            "newly_warned": self.newly_warned,
            "failing": self.failing,
            "warning": self.warning,
            "unchanged": self.unchanged,
            "errors": self.errors,
            "kind": self.kind,
            "more_approvals": self.more_approvals,
            "fewer_approvals": self.fewer_approvals,
            "newly_auto_approved": self.newly_auto_approved,
            "no_longer_auto_approved": self.no_longer_auto_approved,
            "by_team": self.by_team,
            "by_template": self.by_template,
            "by_day": self.by_day,
            "changed": [
                {**r.__dict__, "change": r.change, "url": f"/resources/runs/{r.run}/"}
                for r in self.changed
            ],
            "seconds": round(self.seconds, 3),
        }


def parse_draft(source: str, name: str = "draft.rego") -> ParsedPolicy:
    """The draft checked as a policy file would be; PolicyError with file and line."""
    if not isinstance(source, str) or not source.strip():
        raise PolicyError(f"{name}: the draft is empty")
    if not name.endswith(".rego"):
        name = f"{name}.rego"
    slug = name.rsplit("/", 1)[-1].removesuffix(".rego")
    if slug == "draft" or not slug:
        slug = "draft"
    return parse_source(slug, name, source, origin="draft")


def _interpreter(draft: ParsedPolicy) -> Interpreter:
    interpreter = Interpreter()
    name = f"{draft.slug}.rego"
    try:
        interpreter.add_module(name, draft.source)
    except RegoError as error:
        raise PolicyError(describe_rego_error(str(error.args[0]), {name: draft.source})) from None
    return interpreter


def _draft_level(findings: list[Any], enforcement: str) -> tuple[str, list[str]]:
    levels = {f.level for f in findings}
    messages = [f.message for f in findings if f.level != Level.PASSED][:5]
    if Level.FAILURE in levels:
        # An advisory policy's deny is a warning, as when it is in force.
        return (Level.WARNING if enforcement == Enforcement.ADVISORY else Level.FAILURE), messages
    if Level.WARNING in levels:
        return Level.WARNING, messages
    return Level.PASSED, messages


def _in_force(summary: dict[str, Any], slug: str) -> tuple[str, bool]:
    """(the same-named policy's level on the plan, whether the others block it)."""
    level = Level.PASSED
    others_block = False
    for result in summary.get("results") or []:
        if result.get("policy") == slug:
            if result.get("level") == Level.FAILURE:
                level = Level.FAILURE
            elif result.get("level") == Level.WARNING and level != Level.FAILURE:
                level = Level.WARNING
        elif result.get("level") == Level.FAILURE and result.get("enforcement") in BLOCKING:
            others_block = True
    return level, others_block


def stored_plans(days: int, scope: dict[str, list[str]], *, light: bool = True) -> Any:
    """The finished plans of the last `days` days still holding their JSON, in `scope`
    (`light`: only the columns a deny/warn replay reads)."""
    since = timezone.now() - timedelta(days=days)
    plans = (
        Run.objects.filter(kind=RunKind.PLAN, status=RunStatus.SUCCEEDED, created_at__gte=since)
        .exclude(plan_document="")
        .select_related(
            "resource__team",
            "resource__environment",
            "resource__template",
            "resource__requested_by",
            "template_version",
        )
        .order_by("pk")
    )
    if light:
        plans = plans.only(
            "pk",
            "created_at",
            "is_destroy",
            "plan_document",
            "cost",
            "policy_summary",
            "approval_requirement",
            "template_version__number",
            "resource__name",
            "resource__team__slug",
            "resource__environment__slug",
            "resource__environment__is_production",
            "resource__template__slug",
            "resource__requested_by__username",
        )
    else:
        plans = plans.select_related("resource__service", "created_by")
    if scope.get("environments"):
        plans = plans.filter(resource__environment__slug__in=scope["environments"])
    if scope.get("templates"):
        plans = plans.filter(resource__template__slug__in=scope["templates"])
    if scope.get("teams"):
        plans = plans.filter(resource__team__slug__in=scope["teams"])
    return plans


def what_if(source: str, *, name: str = "draft.rego", days: int = 30) -> WhatIf:
    """Replay the draft against the stored plans of the last `days` days (at most the
    retention); PolicyError when it does not compile."""
    started = time.monotonic()
    from .models import Policy

    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be a whole number from 1 to {MAX_DAYS}")
    days = min(days, int(setting("IDP_PLAN_RETENTION_DAYS")))
    draft = parse_draft(source, name)
    interpreter = _interpreter(draft)
    answer = WhatIf(
        policy=draft.slug,
        title=draft.title,
        enforcement=draft.enforcement,
        scope=draft.scope,
        replaces=Policy.objects.filter(slug=draft.slug, removed=False).exists(),
        days=days,
    )
    if draft.kind == PolicyKind.APPROVAL:
        return _approval_what_if(draft, answer, started)
    blocking = draft.enforcement in BLOCKING
    teams: dict[str, Counter[str]] = defaultdict(Counter)
    templates: dict[str, Counter[str]] = defaultdict(Counter)
    daily: dict[date, Counter[str]] = defaultdict(Counter)
    budgets: dict[int, dict[str, Any]] = {}
    source_of = Source(draft.slug, None, draft.package, draft.source)
    for plan in stored_plans(days, draft.scope).iterator(chunk_size=500):
        document = decrypt_json(plan.plan_document)
        if not document:
            continue
        answer.plans += 1
        resource = plan.resource
        context = _context(resource, plan, budgets)
        addresses = [rc.get("address", "") for rc in document.get("resource_changes") or []]
        try:
            interpreter.set_input({**document, "idp": context})
            value = query(
                interpreter, f"data.{draft.package}", name=f"{draft.slug}.rego", source=""
            )
        except (PolicyError, TypeError, ValueError):
            answer.errors += 1
            continue
        after, messages = _draft_level(
            findings_of(source_of.slug, None, value or {}, addresses), draft.enforcement
        )
        before, others_block = _in_force(plan.policy_summary or {}, draft.slug)
        blocked_before = bool((plan.policy_summary or {}).get("blocking"))
        blocked_after = others_block or (after == Level.FAILURE and blocking)
        team, template = resource.team.slug, resource.template.slug
        day = timezone.localdate(plan.created_at)
        if after == Level.FAILURE:
            answer.failing += 1
        elif after == Level.WARNING:
            answer.warning += 1
        replayed = Replayed(
            run=plan.pk,
            resource=resource.pk,
            name=resource.name,
            team=team,
            template=template,
            environment=resource.environment.slug,
            planned_at=plan.created_at.isoformat(),
            before=before,
            after=after,
            blocked_before=blocked_before,
            blocked_after=blocked_after,
            messages=messages,
        )
        if before == after and blocked_before == blocked_after:
            answer.unchanged += 1
            continue
        kind = replayed.change
        if kind == "newly blocked":
            answer.newly_blocked += 1
        elif kind == "no longer blocked":
            answer.no_longer_blocked += 1
        elif kind == "newly warned":
            answer.newly_warned += 1
        for counter in (teams[team], templates[template], daily[day]):
            counter[kind] += 1
        if len(answer.changed) < LISTED:
            answer.changed.append(replayed)
    answer.by_team = {k: dict(v) for k, v in sorted(teams.items())}
    answer.by_template = {k: dict(v) for k, v in sorted(templates.items())}
    answer.by_day = [{"day": day.isoformat(), **counts} for day, counts in sorted(daily.items())]
    answer.seconds = time.monotonic() - started
    return answer


def _context(resource: Any, plan: Run, budgets: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """`input.idp` of the plan, the team's budget figures read once per team."""
    from monitoring.budget import budget_context

    value = (plan.approval_requirement or {}).get("estimated_monthly_cost")
    if resource.team_id not in budgets:
        budgets[resource.team_id] = budget_context(resource.team)
    estimate = Decimal(value) if value is not None else None
    return platform_context(resource, plan, estimate, budgets[resource.team_id])


# --- approval rules ---------------------------------------------------------------------

APPROVAL_KINDS = (
    "needs more approvals",
    "needs fewer approvals",
    "newly auto-approved",
    "no longer auto-approved",
)


def _weight(requirement: Any) -> tuple[int, int, int]:
    """How much a requirement asks: approvals, then a platform admin, then a team admin."""
    return (
        requirement.approvals,
        int(requirement.platform_admin),
        int(requirement.role == "admin"),
    )


def _approval_change(before: Any, after: Any) -> str:
    if after.auto_approved_by and not before.auto_approved_by:
        return "newly auto-approved"
    if before.auto_approved_by and not after.auto_approved_by:
        return "no longer auto-approved"
    if _weight(after) > _weight(before):
        return "needs more approvals"
    if _weight(after) < _weight(before):
        return "needs fewer approvals"
    return ""


def _approval_what_if(draft: ParsedPolicy, answer: WhatIf, started: float) -> WhatIf:
    """Each stored plan's requirement under today's environment rule and approval rules,
    against the same with the draft added (or in place of its namesake). Reads more per
    plan than a deny/warn replay (the floor, the catalog, the dependants): slower."""
    from .approval_rules import draft_rule, requirement_for_stored_plan

    rule = draft_rule(draft.source, slug=draft.slug)
    answer.kind = "approval"
    teams: dict[str, Counter[str]] = defaultdict(Counter)
    templates: dict[str, Counter[str]] = defaultdict(Counter)
    daily: dict[date, Counter[str]] = defaultdict(Counter)
    plans = stored_plans(answer.days, draft.scope, light=False)
    for plan in plans.iterator(chunk_size=200):
        try:
            today = requirement_for_stored_plan(plan)
            drafted = requirement_for_stored_plan(plan, drafts=[rule])
        except (PolicyError, TypeError, ValueError):
            answer.errors += 1
            continue
        if today is None or drafted is None:
            continue
        answer.plans += 1
        (before, _), (after, ruled) = today, drafted
        if ruled.errors and any(slug == rule.slug for slug, _ in ruled.errors):
            answer.errors += 1
            continue
        kind = _approval_change(before, after)
        if not kind:
            answer.unchanged += 1
            continue
        field_name = kind.replace("needs ", "").replace("-", "_").replace(" ", "_")
        setattr(answer, field_name, getattr(answer, field_name) + 1)
        resource = plan.resource
        team, template = resource.team.slug, resource.template.slug
        for counter in (
            teams[team],
            templates[template],
            daily[timezone.localdate(plan.created_at)],
        ):
            counter[kind] += 1
        if len(answer.changed) < LISTED:
            answer.changed.append(
                Replayed(
                    run=plan.pk,
                    resource=resource.pk,
                    name=resource.name,
                    team=team,
                    template=template,
                    environment=resource.environment.slug,
                    planned_at=plan.created_at.isoformat(),
                    before=before.summary,
                    after=after.summary,
                    blocked_before=False,
                    blocked_after=False,
                    messages=[r for r in after.reasons if r not in before.reasons][:5],
                    kind=kind,
                )
            )
    answer.by_team = {k: dict(v) for k, v in sorted(teams.items())}
    answer.by_template = {k: dict(v) for k, v in sorted(templates.items())}
    answer.by_day = [{"day": day.isoformat(), **counts} for day, counts in sorted(daily.items())]
    answer.seconds = time.monotonic() - started
    return answer
