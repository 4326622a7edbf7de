"""Importing catalog-info.yaml: validate every document, check write rights, then upsert
all of them in one transaction with their relations (or nothing at all)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q

from catalog.choices import EntityKind, EntityOrigin
from catalog.models import Entity, Location, Service
from idp import audit
from idp.models import Team
from idp.services import Conflict

from . import relations
from .common import (
    AUDIT_IMPORTED,
    apply_values,
    content_hash,
    may_write,
    merge_service_facts,
    owner_problems,
    team_slug_of,
)
from .refs import DEFAULT_NAMESPACE
from .validation import DocumentError, EntityDocument, parse_documents

CREATE, CHANGE, UNCHANGED = "create", "change", "unchanged"


@dataclass
class ImportItem:
    document: int
    ref: str
    action: str
    team: str | None = None
    service: str | None = None


@dataclass
class ImportReport:
    """What an import did (or, on a dry run or a refusal, would do)."""

    dry_run: bool
    items: list[ImportItem] = field(default_factory=list)
    errors: list[DocumentError] = field(default_factory=list)
    refused: list[DocumentError] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)

    def _refs(self, action: str) -> list[str]:
        return [item.ref for item in self.items if item.action == action]

    @property
    def created(self) -> list[str]:
        return self._refs(CREATE)

    @property
    def changed(self) -> list[str]:
        return self._refs(CHANGE)

    @property
    def unchanged(self) -> list[str]:
        return self._refs(UNCHANGED)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.refused

    @property
    def written(self) -> bool:
        return self.ok and not self.dry_run

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "written": self.written,
            "created": self.created,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "items": [vars(item) for item in self.items],
            "errors": [e.as_json() for e in self.errors],
            "refused": [e.as_json() for e in self.refused],
            "problems": self.problems,
        }


@dataclass
class _Plan:
    doc: EntityDocument
    metadata: dict[str, Any]
    team: Team | None
    service: Service | None
    existing: Entity | None
    action: str
    problems: list[dict[str, Any]]


def import_entities(
    content: str,
    *,
    actor: Any,
    dry_run: bool = False,
    origin: str = EntityOrigin.IMPORT,
    location: Location | None = None,
    source_url: str = "",
    only_team: Team | None = None,
) -> ImportReport:
    """Import a (multi-document) catalog-info.yaml.

    Every document is checked against Backstage's schemas and the actor's rights
    (`maintain_team` on the owner team, on the team of an entity it would change and of the
    service a Component names; a platform admin for an owner that is no team) before
    anything is written; one invalid or refused document means nothing is written, as does
    `dry_run`. `actor` None is the system; `only_team` (a team's location) refuses entities
    another team owns.
    """
    report = ImportReport(dry_run=dry_run)
    documents, report.errors = parse_documents(content)
    with transaction.atomic():
        plans = _plan(documents, actor, report, only_team, origin, location, lock=not dry_run)
        report.items = [
            ImportItem(
                p.doc.document,
                p.doc.ref,
                p.action,
                p.team.slug if p.team else None,
                p.service.slug if p.service else None,
            )
            for p in plans
        ]
        if not report.written:
            report.problems = _preview_problems(plans, actor)
            return report
        try:
            with transaction.atomic():
                written = _write(plans, origin, location, source_url)
        except IntegrityError:
            raise Conflict("Another import wrote these entities meanwhile; try again") from None
        report.problems = [
            {"entity": e.ref, **problem}
            for e in Entity.objects.filter(pk__in=[e.pk for e in written]).only(
                "kind", "namespace", "name", "problems"
            )
            for problem in e.problems
        ]
        _audit(actor, plans)
    return report


def _plan(
    documents: list[EntityDocument],
    actor: Any,
    report: ImportReport,
    only_team: Team | None,
    origin: str,
    location: Location | None,
    *,
    lock: bool,
) -> list[_Plan]:
    if not documents:
        return []
    keys = Q()
    for doc in documents:
        keys |= Q(kind=doc.kind, namespace=doc.namespace, name=doc.name)
    query = Entity.objects.filter(keys).select_related("team", "service")
    if lock:
        query = query.select_for_update(of=("self",))
    existing = {e.ref: e for e in query}
    slugs = {slug for doc in documents if (slug := team_slug_of(doc.owner_ref))}
    teams = {t.slug: t for t in Team.objects.filter(slug__in=slugs)}
    names = [
        d.name
        for d in documents
        if d.kind == EntityKind.COMPONENT and d.namespace == DEFAULT_NAMESPACE
    ]
    services = {s.slug: s for s in Service.objects.filter(slug__in=names).select_related("team")}
    plans = []
    for doc in documents:
        current = existing.get(doc.ref)
        slug = team_slug_of(doc.owner_ref)
        team = teams.get(slug) if slug else None
        service = (
            services.get(doc.name)
            if doc.kind == EntityKind.COMPONENT and (doc.namespace == DEFAULT_NAMESPACE)
            else None
        )
        refusal = _refusal(actor, doc, team, service, current, only_team)
        if refusal:
            report.refused.append(DocumentError(doc.document, "", refusal, doc.ref))
        metadata = {k: v for k, v in doc.metadata.items() if v not in (None, "", [], {})}
        if service is not None:
            metadata = merge_service_facts(metadata, service)
        entity_team = service.team if service is not None else team
        new_hash = content_hash(doc.kind, doc.namespace, doc.name, metadata, doc.spec)
        if current is None:
            action = CREATE
        elif (
            current.content_hash != new_hash
            or current.team_id != (entity_team.pk if entity_team else None)
            or current.service_id != (service.pk if service else None)
            or current.origin != origin
            or current.location_id != (location.pk if location else None)
        ):
            action = CHANGE
        else:
            action = UNCHANGED
        problems = owner_problems(doc.owner_ref, team, service)
        plans.append(_Plan(doc, metadata, entity_team, service, current, action, problems))
    return plans


def _refusal(
    actor: Any,
    doc: EntityDocument,
    team: Team | None,
    service: Service | None,
    current: Entity | None,
    only_team: Team | None,
) -> str:
    """Why the actor may not write this document, or ''."""
    from .access import can_see

    if (
        current is not None
        and current.origin == EntityOrigin.PLATFORM
        and (current.kind != EntityKind.COMPONENT)
    ):
        if actor is not None and not can_see(actor, current):
            return f"you may not write {doc.ref}"
        return f"{doc.ref} is kept by the platform from its own records; change it there"
    if only_team is not None:
        # A team's location writes only its team's entities: not one another team holds
        # already, nor the Component of another team's service, whatever the file claims.
        if team is None or team.pk != only_team.pk:
            return f"owner {doc.owner_ref or '(none)'} is not team {only_team.slug}"
        if current is not None and current.team_id != only_team.pk:
            holder = current.team.slug if current.team else "(none)"
            return f"{doc.ref} belongs to team {holder}"
        if service is not None and service.team_id != only_team.pk:
            return f"{doc.ref} is service {service.slug} of team {service.team.slug}"
    needed: list[Team | None] = [team]
    if current is not None:
        needed.append(current.team)
    if service is not None:
        needed.append(service.team)
    for needed_team in needed:
        if not may_write(actor, needed_team):
            if needed_team is None:
                return (
                    f"owner {doc.owner_ref or '(none)'} is not a team; only platform admins "
                    f"import entities no team owns"
                )
            return f"you may not write entities of team {needed_team.slug} (maintainers only)"
    return ""


def _preview_problems(plans: list[_Plan], actor: Any) -> list[dict[str, Any]]:
    """The problems a write would flag: owners, and references nothing would resolve (an
    entity the actor may not see counts as missing: a preview reveals nothing)."""
    from .access import can_see

    batch = {p.doc.ref for p in plans}
    targets = {ref for p in plans for _, _, ref in p.doc.relations} - batch
    found = relations.find_entities(targets) if targets else {}
    if actor is not None:
        found = {ref: e for ref, e in found.items() if can_see(actor, e)}
    problems: list[dict[str, Any]] = []
    for plan in plans:
        problems += [{"entity": plan.doc.ref, **problem} for problem in plan.problems]
        for _, relation, ref in plan.doc.relations:
            if ref not in batch and ref not in found:
                problems.append(
                    {"entity": plan.doc.ref, **relations.dangling_problem(f"{relation} {ref}")}
                )
    return problems


def _write(
    plans: list[_Plan], origin: str, location: Location | None, source_url: str
) -> list[Entity]:
    from .platform import ensure_group

    for team in {p.team for p in plans if p.team is not None}:
        ensure_group(team)
    written = []
    for plan in plans:
        if plan.action == UNCHANGED:
            continue
        doc = plan.doc
        entity = plan.existing or Entity(kind=doc.kind, namespace=doc.namespace, name=doc.name)
        apply_values(entity, plan.metadata, doc.spec)
        entity.owner_ref = doc.owner_ref
        entity.team = plan.team
        entity.service = plan.service
        entity.origin = origin
        entity.location = location
        entity.source_url = source_url
        entity.orphaned = False
        dangling = [p for p in (entity.problems or []) if p.get("code") == relations.DANGLING]
        entity.problems = plan.problems + dangling
        entity.save()
        written.append(entity)
    touched = relations.rebuild(written)
    relations.refresh_problems(touched)
    return written


def _audit(actor: Any, plans: list[_Plan]) -> None:
    by_team: dict[Team | None, list[_Plan]] = {}
    for plan in plans:
        if plan.action != UNCHANGED:
            by_team.setdefault(plan.team, []).append(plan)
    for team, team_plans in by_team.items():
        audit.record(
            AUDIT_IMPORTED,
            actor=actor,
            team=team,
            details={
                "created": [p.doc.ref for p in team_plans if p.action == CREATE][:100],
                "changed": [p.doc.ref for p in team_plans if p.action == CHANGE][:100],
            },
        )
