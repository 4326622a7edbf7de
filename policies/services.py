"""Policies: load them from their folders (versioned like templates) and evaluate plans."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction

from idp import audit
from idp.actors import Person
from provisioning.models import Resource, Run
from provisioning.plan_checks import summary_digest

from .choices import BLOCKING, AuditAction, Enforcement, Level, PolicyKind
from .engine import Finding, PolicyError, Source, evaluate_all
from .loader import ParsedPolicy, kind_of_source, parse_policy, policy_dirs, policy_files
from .models import Policy, PolicyResult, PolicyVersion

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    loaded: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    reevaluated: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def changed(self) -> bool:
        return bool(self.created or self.removed or self.failed)


def _store(parsed: ParsedPolicy, *, actor: Person | None) -> bool:
    """Create or update the policy; a new version only for new content. True when new."""
    policy, _ = Policy.objects.select_for_update().get_or_create(
        slug=parsed.slug, defaults={"package": parsed.package, "title": parsed.title[:200]}
    )
    version = policy.versions.filter(content_hash=parsed.content_hash).first()
    is_new = version is None
    if version is None:
        previous = policy.versions.order_by("-number").first()
        version = PolicyVersion.objects.create(
            policy=policy,
            number=(previous.number + 1) if previous else 1,
            content_hash=parsed.content_hash,
            source=parsed.source,
            enforcement=parsed.enforcement,
            changelog=parsed.changelog
            or ("First version." if previous is None else "The policy's text changed."),
        )
        audit.record(
            AuditAction.POLICY_VERSION_CREATED,
            actor=actor,
            target=policy,
            details={"version": version.number, "content_hash": parsed.content_hash},
        )
    fields = {
        "package": parsed.package,
        "kind": parsed.kind,
        "title": parsed.title[:200],
        "description": parsed.description,
        "enforcement": parsed.enforcement,
        "origin": parsed.origin,
        "path": parsed.path[:1000],
        "current_version": version,
        "sync_error": "",
        "removed": False,
        **parsed.scope,
    }
    changed = {k: v for k, v in fields.items() if getattr(policy, k) != v}
    for key, value in changed.items():
        setattr(policy, key, value)
    if changed:
        policy.save()
    return is_new


def _record_failure(
    slug: str, path: str, origin: str, error: str, *, actor: Person | None, kind: str
) -> None:
    """A policy that does not load stays listed with its error, and fails the plans in its
    scope (last known scope and enforcement): never silently skipped. An approval rule that
    does not load asks a person to decide on the plans in its scope."""
    policy, created = Policy.objects.get_or_create(
        slug=slug[:100],
        defaults={
            "package": "",
            "kind": kind,
            "title": slug,
            "enforcement": Enforcement.MANDATORY,
            "origin": origin,
            "path": path,
        },
    )
    if created or policy.sync_error != error or policy.removed:
        Policy.objects.filter(pk=policy.pk).update(sync_error=error, removed=False)
        details = {"error": error}
        audit.record(AuditAction.POLICY_BROKEN, actor=actor, target=policy, details=details)


def sync_policies(*, actor: Person | None = None) -> SyncReport:
    """Load every policy file; each loads or fails on its own. Files that are gone are
    marked removed (their history stays)."""
    report = SyncReport()
    seen: dict[str, str] = {}
    for origin, folder in policy_dirs():
        for path in policy_files(folder):
            slug = path.stem
            label = f"{origin}:{path.relative_to(folder)}"
            if slug in seen:
                report.failed[slug] = f"{label}: the name is taken by {seen[slug]}"
                continue
            seen[slug] = label
            try:
                parsed = parse_policy(path, origin=origin, root=folder)
            except PolicyError as error:
                report.failed[slug] = str(error)
                try:
                    kind = kind_of_source(path.read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError):
                    kind = PolicyKind.POLICY
                with transaction.atomic():
                    _record_failure(
                        slug,
                        str(path.relative_to(folder)),
                        origin,
                        str(error),
                        actor=actor,
                        kind=kind,
                    )
                continue
            with transaction.atomic():
                is_new = _store(parsed, actor=actor)
            report.loaded.append(slug)
            (report.created if is_new else report.unchanged).append(slug)
    gone = Policy.objects.filter(removed=False).exclude(slug__in=seen)
    for policy in gone:
        Policy.objects.filter(pk=policy.pk).update(removed=True)
        audit.record(AuditAction.POLICY_REMOVED, actor=actor, target=policy)
        report.removed.append(policy.slug)
    if report.changed:
        from provisioning.actions import reevaluate_pending_plans

        # A policy version change re-evaluates the plans that wait for a decision or a fix.
        report.reevaluated = reevaluate_pending_plans()
    return report


# --- evaluation ---------------------------------------------------------------------------


@dataclass
class PolicyReport:
    """Every applicable policy's findings on one plan, and what they mean for it."""

    findings: list[tuple[Policy, str, Finding]]

    def _count(self, level: str) -> int:
        return sum(1 for _, _, f in self.findings if f.level == level)

    @property
    def blocking(self) -> list[tuple[Policy, str, Finding]]:
        return [
            item for item in self.findings if item[2].level == Level.FAILURE and item[1] in BLOCKING
        ]

    @property
    def overridable(self) -> bool:
        """Every blocking failure may be overridden by a platform admin."""
        blocking = self.blocking
        return bool(blocking) and all(e == Enforcement.OVERRIDABLE for _, e, _ in blocking)

    def as_json(self) -> dict[str, Any]:
        results = [
            {**finding.as_json(), "enforcement": enforcement}
            for _, enforcement, finding in self.findings
        ]
        policies = {p.slug for p, _, _ in self.findings}
        failed = {p.slug for p, _, f in self.findings if f.level == Level.FAILURE}
        warned = {p.slug for p, _, f in self.findings if f.level == Level.WARNING} - failed
        return {
            "passed": len(policies - failed - warned),
            "warnings": self._count(Level.WARNING),
            "failures": self._count(Level.FAILURE),
            "blocking": len(self.blocking),
            "overridable": self.overridable,
            "results": results,
            "digest": summary_digest(results),
        }


def applicable(
    *, environment: str, template: str, team: str, kind: str = PolicyKind.POLICY
) -> list[Policy]:
    """The policies (or, with `kind`, the approval rules) that judge a plan of `template`
    for `team` in `environment`."""
    return [
        policy
        for policy in Policy.objects.filter(removed=False, kind=kind).select_related(
            "current_version"
        )
        if policy.applies_to(environment=environment, template=template, team=team)
    ]


def evaluate_document(
    document: dict[str, Any], *, environment: str, template: str, team: str
) -> PolicyReport:
    """Run every applicable policy on a plan document (`show -json` plus `idp` context)."""
    policies = applicable(environment=environment, template=template, team=team)
    loaded = [p for p in policies if not p.sync_error and p.current_version is not None]
    answers = evaluate_all(
        [
            Source(p.slug, p.current_version.number, p.package, p.current_version.source)
            for p in loaded
            if p.current_version is not None
        ],
        document,
    )
    findings: list[tuple[Policy, str, Finding]] = []
    for policy in policies:
        version = policy.current_version
        if policy not in loaded or version is None:
            message = f"The policy does not load, so the plan cannot pass it: {policy.sync_error}"
            broken = Finding(policy.slug, None, "error", Level.FAILURE, message[:2000])
            findings.append((policy, policy.enforcement, broken))
            continue
        for finding in answers[policy.slug]:
            if finding.level == Level.FAILURE and version.enforcement == Enforcement.ADVISORY:
                # An advisory policy's deny is shown as a warning: it never blocks.
                finding = Finding(**{**finding.as_json(), "level": Level.WARNING})
            findings.append((policy, version.enforcement, finding))
    return PolicyReport(findings)


def record_results(run: Run, report: PolicyReport) -> None:
    """Keep the findings of a plan run (replacing earlier ones, for a re-evaluation)."""
    PolicyResult.objects.filter(run=run).delete()
    PolicyResult.objects.bulk_create(
        PolicyResult(
            run=run,
            policy=policy,
            version_id=policy.current_version_id if finding.version is not None else None,
            team_id=run.resource.team_id,
            enforcement=enforcement,
            level=finding.level,
            rule=finding.rule,
            message=finding.message,
            address=finding.address[:500],
        )
        for policy, enforcement, finding in report.findings
    )


def platform_context(
    resource: Resource,
    run: Run,
    estimate: Decimal | None,
    budget: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`input.idp`: who asks for what, where, and what it costs (the plan's estimate, from
    its priced cost where there is one) against the budget (`budget`: the team's
    `budget_context`, when the caller has read it already)."""
    from monitoring.budget import budget_context

    requester = resource.requested_by
    return {
        "team": resource.team.slug,
        "environment": resource.environment.slug,
        "production": resource.environment.is_production,
        "template": resource.template.slug,
        "template_version": run.template_version.number,
        "resource": resource.name,
        "requested_by": requester.get_username() if requester else "",
        "destroy": bool(run.is_destroy),
        "estimated_monthly_cost": float(estimate) if estimate is not None else None,
        # The plan's cost priced from the price catalog (monitoring): before, after, delta,
        # a line per resource and what it could not price; None when not priced.
        "cost": run.cost,
        **(budget if budget is not None else budget_context(resource.team)),
    }
