"""Scorecards from ground truth: rules evaluated per service from the platform's own records.

A rule is data (`ScorecardRule`: which registered check, with which parameters, at which
level); a check is a function registered here with `@check("name")`. Checks read a
`ScoreContext`, which loads each kind of record once for all services being scored, so
scoring a thousand services costs the same number of queries as scoring one.

Levels are cumulative: bronze needs every bronze rule, silver bronze and silver, gold all.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from django.db import transaction
from django.db.models import Count, F, Max, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone

from catalog.choices import DocsStatus, Lifecycle, ScoreLevel
from catalog.models import DocsBuild, ScorecardResult, ScorecardRule, Service
from idp.models import Membership

logger = logging.getLogger(__name__)

RULES_FILE = Path(__file__).resolve().parent.parent / "scorecards.yaml"
# Ascending; NONE is what a service has before it passes every bronze rule.
LEVELS: tuple[str, ...] = (ScoreLevel.BRONZE, ScoreLevel.SILVER, ScoreLevel.GOLD)


class Outcome(NamedTuple):
    """A check's answer; `fix_url` points at the page that fixes it (optional)."""

    passed: bool
    detail: str
    fix_url: str = ""


Evaluator = Callable[[Service, dict[str, Any], "ScoreContext"], "Outcome | tuple[bool, str]"]


@dataclass(frozen=True)
class Check:
    name: str
    func: Evaluator
    description: str


_registry: dict[str, Check] = {}


def check(name: str) -> Callable[[Evaluator], Evaluator]:
    """Register a scorecard check under `name` (what `ScorecardRule.evaluator` names)."""

    def register(func: Evaluator) -> Evaluator:
        doc = (func.__doc__ or "").strip().splitlines()
        _registry[name] = Check(name, func, doc[0] if doc else "")
        return func

    return register


def evaluators() -> dict[str, Check]:
    """Every registered check, by name."""
    return dict(_registry)


class ScorecardError(ValueError):
    """A rules file or rule that cannot be used."""


# --- Results -----------------------------------------------------------------------------


@dataclass
class RuleResult:
    rule: str
    title: str
    level: str
    passed: bool
    detail: str
    fix_hint: str = ""
    fix_url: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "title": self.title,
            "level": self.level,
            "passed": self.passed,
            "detail": self.detail,
            "fix_hint": self.fix_hint,
            "fix_url": self.fix_url,
        }


@dataclass
class ServiceScore:
    service: Service
    level: str
    results: list[RuleResult] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.passed)

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def failing(self) -> list[RuleResult]:
        return [r for r in self.results if not r.passed]


def compute_level(results: Iterable[RuleResult]) -> str:
    """The highest level whose rules, and every lower level's, all pass. A level with no
    rules neither blocks nor is awarded on its own."""
    by_level: dict[str, list[bool]] = defaultdict(list)
    for r in results:
        by_level[r.level].append(r.passed)
    level: str = ScoreLevel.NONE
    for candidate in LEVELS:
        outcomes = by_level.get(candidate, [])
        if not all(outcomes):
            break
        if outcomes:
            level = candidate
    return level


# --- The records checks read, loaded once per scoring ------------------------------------


class ScoreContext:
    """What the checks read about a set of services, each kind loaded by one query on first
    use (only the checks of enabled rules trigger loads)."""

    def __init__(self, services: Sequence[Service], today: date | None = None) -> None:
        self.services = list(services)
        self.today = today or timezone.now().date()
        self.now = timezone.now()
        self.service_ids = [s.pk for s in self.services]
        self.team_ids = sorted({s.team_id for s in self.services})

    @cached_property
    def member_counts(self) -> dict[int, int]:
        rows = (
            Membership.objects.filter(team_id__in=self.team_ids)
            .values("team_id")
            .annotate(n=Count("id"))
        )
        return {row["team_id"]: row["n"] for row in rows}

    @cached_property
    def pipelines(self) -> dict[int, list[Any]]:
        from pipelines.models import Pipeline

        out: dict[int, list[Any]] = defaultdict(list)
        for p in Pipeline.objects.filter(service_id__in=self.service_ids).order_by("slug"):
            out[p.service_id].append(p)
        return out

    @cached_property
    def latest_runs(self) -> dict[tuple[int, str], Any]:
        """The newest workflow run of each pipeline on each branch: (pipeline id, branch)."""
        from pipelines.choices import RunSource
        from pipelines.models import PipelineRun

        ranked = (
            PipelineRun.objects.filter(
                pipeline__service_id__in=self.service_ids, source=RunSource.WORKFLOW
            )
            .annotate(
                rank=Window(
                    RowNumber(),
                    partition_by=[F("pipeline_id"), F("head_branch")],
                    order_by=[F("created_at").desc(), F("id").desc()],
                )
            )
            .filter(rank=1)
        )
        return {(r.pipeline_id, r.head_branch): r for r in ranked}

    @cached_property
    def resources(self) -> dict[int, list[Any]]:
        """Each service's live resources (not destroyed, rejected or archived)."""
        from provisioning.choices import RESOURCE_GONE
        from provisioning.models import Resource

        out: dict[int, list[Any]] = defaultdict(list)
        qs = (
            Resource.objects.filter(service_id__in=self.service_ids, archived_at__isnull=True)
            .exclude(status__in=RESOURCE_GONE)
            .select_related("environment", "template__current_version", "template_version")
            .order_by("name", "id")
        )
        for r in qs:
            if r.service_id is not None:
                out[r.service_id].append(r)
        return out

    @cached_property
    def last_applies(self) -> dict[int, Any]:
        """Each live resource's last succeeded apply, with the plan it applied."""
        from provisioning.choices import RunKind, RunStatus
        from provisioning.models import Run

        ids = [r.pk for rs in self.resources.values() for r in rs]
        ranked = (
            Run.objects.filter(resource_id__in=ids, kind=RunKind.APPLY, status=RunStatus.SUCCEEDED)
            .annotate(
                rank=Window(
                    RowNumber(),
                    partition_by=[F("resource_id")],
                    order_by=[F("finished_at").desc(nulls_last=True), F("id").desc()],
                )
            )
            .filter(rank=1)
            .select_related("plan_run")
            .defer("plan_file", "plan_text", "plan_document", "pending_state")
            .defer("plan_run__plan_file", "plan_run__plan_text", "plan_run__plan_document")
            .defer("plan_run__pending_state")
        )
        return {run.resource_id: run for run in ranked}

    @cached_property
    def approvals(self) -> dict[int, list[Any]]:
        """Approving decisions (four-eyes or break-glass) by the plan run they decided."""
        from provisioning.choices import ApprovalDecision
        from provisioning.models import Approval

        plan_ids = [a.plan_run_id for a in self.last_applies.values() if a.plan_run_id]
        out: dict[int, list[Any]] = defaultdict(list)
        qs = Approval.objects.filter(run_id__in=plan_ids, decision=ApprovalDecision.APPROVED)
        for approval in qs.order_by("created_at"):
            out[approval.run_id].append(approval)
        return out

    @cached_property
    def budgets(self) -> dict[int, Any]:
        from monitoring.models import Budget

        return {b.team_id: b for b in Budget.objects.filter(team_id__in=self.team_ids)}

    @cached_property
    def month_to_date(self) -> dict[int, Decimal]:
        from monitoring.models import CostRecord
        from monitoring.services.costs import month_bounds

        first, _ = month_bounds(self.today)
        rows = (
            CostRecord.objects.filter(
                team_id__in=self.team_ids, date__gte=first, date__lte=self.today
            )
            .values("team_id")
            .annotate(total=Sum("amount"))
        )
        return {row["team_id"]: row["total"] or Decimal("0") for row in rows}

    def forecast(self, team_id: int) -> Decimal:
        """The team's expected month total: as `monitoring.services.costs.forecast_month`
        (spend so far plus the daily average over the days left), from the bulk sums."""
        from monitoring.services.costs import month_bounds

        first, next_first = month_bounds(self.today)
        spent = self.month_to_date.get(team_id, Decimal("0"))
        elapsed = (self.today - first).days + 1
        remaining = (next_first - self.today).days - 1
        return (spent + spent / elapsed * remaining).quantize(Decimal("0.01"))

    @cached_property
    def entities(self) -> dict[int, Any]:
        from catalog.models import Entity

        qs = Entity.objects.filter(service_id__in=self.service_ids).only(
            "id", "kind", "namespace", "name", "service_id"
        )
        return {e.service_id: e for e in qs if e.service_id is not None}

    @cached_property
    def last_docs(self) -> dict[int, datetime]:
        """When each service's docs were last built successfully, by service id."""
        rows = (
            DocsBuild.objects.filter(
                entity__service_id__in=self.service_ids, status=DocsStatus.SUCCEEDED
            )
            .values("entity__service_id")
            .annotate(last=Max("finished_at"))
        )
        return {row["entity__service_id"]: row["last"] for row in rows if row["last"]}


# --- The checks --------------------------------------------------------------------------


def _url(name: str, *args: Any) -> str:
    return reverse(name, args=args)


@check("owner_team_members")
def owner_team_members(service: Service, params: dict[str, Any], ctx: ScoreContext) -> Outcome:
    """The owner team has at least `min_members` members."""
    need = int(params.get("min_members", 2))
    have = ctx.member_counts.get(service.team_id, 0)
    fix = _url("team_detail", service.team.slug)
    if have >= need:
        return Outcome(True, f"Team {service.team.slug} has {have} members", fix)
    return Outcome(
        False, f"Team {service.team.slug} has {have} member(s); at least {need} needed", fix
    )


@check("pipeline_green")
def pipeline_green(service: Service, params: dict[str, Any], ctx: ScoreContext) -> Outcome:
    """A pipeline is delivered and its latest run on the default branch succeeded."""
    from pipelines.choices import DeliveryState, RunStatus

    branches = list(params.get("branches") or ["main", "master"])
    delivered = {DeliveryState.MERGED, *(params.get("delivery_states") or [])}
    pipelines = ctx.pipelines.get(service.pk, [])
    if not pipelines:
        return Outcome(
            False, "No pipeline", _url("pipelines:pipeline_create") + f"?service={service.slug}"
        )
    shipped = [p for p in pipelines if p.delivery_state in delivered]
    if not shipped:
        p = pipelines[0]
        return Outcome(
            False,
            f"Pipeline {p.slug} is not merged ({p.get_delivery_state_display()})",
            p.get_absolute_url(),
        )
    problems = []
    for p in shipped:
        runs = [ctx.latest_runs[(p.pk, b)] for b in branches if (p.pk, b) in ctx.latest_runs]
        if not runs:
            problems.append((p, f"Pipeline {p.slug} has no run on {' or '.join(branches)}"))
            continue
        run = max(runs, key=lambda r: (r.created_at, r.pk))
        if run.status == RunStatus.COMPLETED and run.conclusion == "success":
            return Outcome(
                True,
                f"Pipeline {p.slug}: latest run on {run.head_branch} succeeded",
                p.get_absolute_url(),
            )
        state = run.conclusion or run.get_status_display().lower()
        problems.append((p, f"Pipeline {p.slug}: latest run on {run.head_branch} is {state}"))
    p, detail = problems[0]
    return Outcome(False, detail, p.get_absolute_url())


def _prod_resources(service: Service, params: dict[str, Any], ctx: ScoreContext) -> list[Any]:
    envs = params.get("environments")
    return [
        r
        for r in ctx.resources.get(service.pk, [])
        if (r.environment.slug in envs if envs else r.environment.is_production)
    ]


@check("prod_approved_and_policies")
def prod_approved_and_policies(
    service: Service, params: dict[str, Any], ctx: ScoreContext
) -> Outcome:
    """Every production resource's last applied plan was approved (or break-glass) and
    passed the mandatory policies (no blocking result)."""
    resources = _prod_resources(service, params, ctx)
    if not resources:
        return Outcome(True, "No production resources")
    for r in resources:
        apply = ctx.last_applies.get(r.pk)
        if apply is None or apply.plan_run is None:
            return Outcome(False, f"{r.name}: no applied plan on record", r.get_absolute_url())
        plan = apply.plan_run
        if not ctx.approvals.get(plan.pk):
            return Outcome(
                False, f"{r.name}: its last applied plan was not approved", r.get_absolute_url()
            )
        blocking = int((plan.policy_summary or {}).get("blocking") or 0)
        if blocking:
            return Outcome(
                False,
                f"{r.name}: its last applied plan failed {blocking} mandatory "
                f"polic{'y' if blocking == 1 else 'ies'}",
                r.get_absolute_url(),
            )
    return Outcome(True, f"{len(resources)} production resource(s) approved and within policy")


@check("no_drift")
def no_drift(service: Service, params: dict[str, Any], ctx: ScoreContext) -> Outcome:
    """No live resource has drifted from its applied configuration."""
    drifted = [r for r in ctx.resources.get(service.pk, []) if r.drifted]
    if not drifted:
        return Outcome(True, "No drifted resources")
    names = ", ".join(f"{r.environment.slug}/{r.name}" for r in drifted)
    return Outcome(False, f"Drifted: {names}", drifted[0].get_absolute_url())


@check("template_versions_current")
def template_versions_current(
    service: Service, params: dict[str, Any], ctx: ScoreContext
) -> Outcome:
    """No live resource is more than `max_behind` versions behind its template's current."""
    max_behind = int(params.get("max_behind", 0))
    worst: tuple[int, Any] | None = None
    for r in ctx.resources.get(service.pk, []):
        current = r.template.current_version
        if current is None:
            continue
        behind = current.number - r.template_version.number
        if behind > max_behind and (worst is None or behind > worst[0]):
            worst = (behind, r)
    if worst is None:
        return Outcome(True, f"Every resource within {max_behind} version(s) of its template")
    behind, r = worst
    return Outcome(
        False,
        f"{r.environment.slug}/{r.name} is {behind} version(s) behind {r.template.slug} "
        f"(at {r.template_version.display}, current {r.template.current_version.display})",
        r.get_absolute_url(),
    )


@check("costs_within_budget")
def costs_within_budget(service: Service, params: dict[str, Any], ctx: ScoreContext) -> Outcome:
    """The owner team's forecast for the month is within `max_percent` of its budget
    (a team without a budget fails unless `require_budget` is false)."""
    fix = _url("monitoring:budget_edit", service.team.slug)
    budget = ctx.budgets.get(service.team_id)
    if budget is None:
        if params.get("require_budget", True):
            return Outcome(False, f"Team {service.team.slug} has no budget", fix)
        return Outcome(True, f"Team {service.team.slug} has no budget (not required)")
    limit = budget.monthly_amount * Decimal(str(params.get("max_percent", 100))) / 100
    forecast = ctx.forecast(service.team_id)
    text = f"forecast {forecast} of {budget.monthly_amount} {budget.currency}"
    if forecast <= limit:
        return Outcome(True, f"Team {service.team.slug}: {text}", fix)
    return Outcome(
        False,
        f"Team {service.team.slug} over budget: {text}",
        _url("monitoring:team_dashboard", service.team.slug),
    )


@check("docs_fresh")
def docs_fresh(service: Service, params: dict[str, Any], ctx: ScoreContext) -> Outcome:
    """The service's docs were built successfully within `max_age_days`."""
    days = int(params.get("max_age_days", 90))
    fix = service.get_absolute_url()
    if service.pk not in ctx.entities:
        return Outcome(False, "No catalog entity, so no docs", fix)
    last = ctx.last_docs.get(service.pk)
    if last is None:
        return Outcome(False, "Docs never built", fix)
    age = (ctx.now - last).days
    if age > days:
        return Outcome(False, f"Docs last built {age} days ago (limit {days})", fix)
    return Outcome(True, f"Docs built {age} day(s) ago", fix)


@check("lifecycle_set")
def lifecycle_set(service: Service, params: dict[str, Any], ctx: ScoreContext) -> Outcome:
    """The lifecycle is set to one of `accepted` (default production or deprecated:
    experimental is what a new service starts with, so it does not count as chosen)."""
    accepted = params.get("accepted") or [Lifecycle.PRODUCTION, Lifecycle.DEPRECATED]
    fix = _url("catalog:service_edit", service.slug)
    if service.lifecycle in accepted:
        return Outcome(True, f"Lifecycle is {service.lifecycle}", fix)
    return Outcome(
        False, f"Lifecycle is {service.lifecycle}; expected one of {', '.join(accepted)}", fix
    )


# --- Scoring -----------------------------------------------------------------------------


def enabled_rules() -> list[ScorecardRule]:
    return list(ScorecardRule.objects.filter(enabled=True).order_by("slug"))


def _level_order(rule: ScorecardRule) -> tuple[int, str]:
    return (LEVELS.index(rule.level) if rule.level in LEVELS else len(LEVELS), rule.slug)


def _evaluate(service: Service, rule: ScorecardRule, ctx: ScoreContext) -> RuleResult:
    registered = _registry.get(rule.evaluator)
    if registered is None:
        outcome = Outcome(False, f"Unknown check {rule.evaluator!r}")
    else:
        try:
            answer = registered.func(service, rule.params or {}, ctx)
        except Exception as exc:  # one broken rule must not hide the others
            logger.exception("scorecard rule %s failed on %s", rule.slug, service.slug)
            answer = Outcome(False, f"The check could not run: {exc}")
        outcome = answer if isinstance(answer, Outcome) else Outcome(*answer)
    return RuleResult(
        rule=rule.slug,
        title=rule.title,
        level=rule.level,
        passed=bool(outcome.passed),
        detail=outcome.detail,
        fix_hint=rule.fix_hint,
        fix_url=outcome.fix_url if not outcome.passed else "",
    )


def score_services(
    services: Iterable[Service],
    *,
    rules: Sequence[ScorecardRule] | None = None,
    today: date | None = None,
) -> list[ServiceScore]:
    """Every service's score against the enabled rules; queries do not grow with the number
    of services. Services should come with `team` selected."""
    services = list(services)
    rules = sorted(enabled_rules() if rules is None else rules, key=_level_order)
    ctx = ScoreContext(services, today)
    scores = []
    for service in services:
        results = [_evaluate(service, rule, ctx) for rule in rules]
        scores.append(ServiceScore(service, compute_level(results), results))
    return scores


def evaluate_service(service: Service, *, today: date | None = None) -> ServiceScore:
    """One service's score, now."""
    return score_services([service], today=today)[0]


def scoreable_services() -> QuerySet[Service]:
    return Service.objects.filter(archived=False).select_related("team").order_by("slug")


def score_all(day: date | None = None) -> int:
    """Score every active service and store one `ScorecardResult` per service for `day`
    (today by default); run again the same day, it replaces that day's results."""
    day = day or timezone.now().date()
    scores = score_services(scoreable_services(), today=day)
    rows = [
        ScorecardResult(
            service=s.service,
            day=day,
            level=s.level,
            passed=s.passed,
            total=s.total,
            results=[r.as_dict() for r in s.results],
        )
        for s in scores
    ]
    with transaction.atomic():
        ScorecardResult.objects.bulk_create(
            rows,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["service", "day"],
            update_fields=["level", "passed", "total", "results"],
        )
    return len(rows)


def level_trend(
    results: QuerySet[ScorecardResult], days: int, today: date | None = None
) -> dict[str, Any]:
    """Services per level per day over the last `days` days, for a chart."""
    today = today or timezone.now().date()
    start = today - timedelta(days=days - 1)
    counts: dict[tuple[date, str], int] = {}
    rows = (
        results.filter(day__gte=start, day__lte=today)
        .values("day", "level")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        counts[(row["day"], row["level"])] = row["n"]
    labels = [start + timedelta(days=i) for i in range(days)]
    return {
        "days": [d.isoformat() for d in labels],
        "levels": {
            level: [counts.get((d, level), 0) for d in labels]
            for level in (ScoreLevel.NONE, *LEVELS)
        },
    }


def service_trend(service: Service, days: int, today: date | None = None) -> list[dict[str, Any]]:
    """A service's stored daily scores over the last `days` days, oldest first."""
    today = today or timezone.now().date()
    start = today - timedelta(days=days - 1)
    return [
        {"day": r.day.isoformat(), "level": r.level, "passed": r.passed, "total": r.total}
        for r in ScorecardResult.objects.filter(
            service=service, day__gte=start, day__lte=today
        ).order_by("day")
    ]


def level_counts(scores: Iterable[ServiceScore]) -> dict[str, int]:
    counts = {level: 0 for level in (ScoreLevel.NONE, *LEVELS)}
    for s in scores:
        counts[s.level] = counts.get(s.level, 0) + 1
    return counts


# --- Rules as data -----------------------------------------------------------------------

# The fields of a rule, in the order Django admin shows them.
RULE_FIELDS = (
    "slug",
    "title",
    "description",
    "evaluator",
    "params",
    "level",
    "fix_hint",
    "enabled",
)
_RULE_FIELDS = set(RULE_FIELDS)


def load_rules_file(path: Path | None = None) -> list[dict[str, Any]]:
    """The rules in a YAML file (`rules:` list), checked against the registered checks."""
    path = path or RULES_FILE
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ScorecardError(f"{path.name}: {exc}") from exc
    rules = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(rules, list):
        raise ScorecardError(f"{path.name}: expected a top-level `rules:` list")
    out = []
    for i, entry in enumerate(rules):
        where = f"{path.name}: rules[{i}]"
        if not isinstance(entry, dict):
            raise ScorecardError(f"{where}: expected a mapping")
        unknown = set(entry) - _RULE_FIELDS
        if unknown:
            raise ScorecardError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        for required in ("slug", "title", "evaluator", "level"):
            if not entry.get(required):
                raise ScorecardError(f"{where}: `{required}` is required")
        if entry["evaluator"] not in _registry:
            raise ScorecardError(
                f"{where}: unknown evaluator {entry['evaluator']!r} "
                f"(known: {', '.join(sorted(_registry))})"
            )
        if entry["level"] not in LEVELS:
            raise ScorecardError(f"{where}: level must be one of {', '.join(LEVELS)}")
        if not isinstance(entry.get("params", {}), dict):
            raise ScorecardError(f"{where}: `params` must be a mapping")
        out.append(entry)
    return out


@dataclass
class SyncResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def sync_rules(path: Path | None = None) -> SyncResult:
    """Create or update the rules named in the YAML file (idempotent). Rules only made in
    admin are left alone; `enabled` is set from the file only when the file says so."""
    entries = load_rules_file(path)
    existing = {
        r.slug: r for r in ScorecardRule.objects.filter(slug__in=[e["slug"] for e in entries])
    }
    result = SyncResult()
    with transaction.atomic():
        for entry in entries:
            values = {
                "title": entry["title"],
                "description": entry.get("description", ""),
                "evaluator": entry["evaluator"],
                "params": entry.get("params") or {},
                "level": entry["level"],
                "fix_hint": entry.get("fix_hint", ""),
            }
            if "enabled" in entry:
                values["enabled"] = bool(entry["enabled"])
            rule = existing.get(entry["slug"])
            if rule is None:
                ScorecardRule.objects.create(slug=entry["slug"], **values)
                result.created.append(entry["slug"])
            elif any(getattr(rule, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(rule, k, v)
                rule.save(update_fields=list(values))
                result.updated.append(entry["slug"])
            else:
                result.unchanged.append(entry["slug"])
    return result


__all__ = [
    "LEVELS",
    "Outcome",
    "RuleResult",
    "ScoreContext",
    "ScorecardError",
    "ServiceScore",
    "check",
    "compute_level",
    "evaluate_service",
    "evaluators",
    "level_counts",
    "level_trend",
    "load_rules_file",
    "score_all",
    "score_services",
    "scoreable_services",
    "service_trend",
    "sync_rules",
]
