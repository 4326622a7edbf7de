"""The platform's own facts as entities: teams → Groups, members → Users, services →
Components, live provisioned resources → Resources (a dependency of their service's
Component). Idempotent: an object whose entity already says the same is not written."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from catalog.choices import EntityKind, EntityOrigin
from catalog.models import Entity, Service
from idp.models import Membership, Team

from . import relations
from .common import (
    UNKNOWN_OWNER,
    apply_values,
    clean_tags,
    content_hash,
    merge_service_facts,
    metadata_of,
    owner_problems,
    service_annotations,
    team_slug_of,
)
from .refs import DEFAULT_NAMESPACE, entity_ref

_NAME_BAD = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass
class PlatformSyncReport:
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def add(self, outcome: tuple[str, str] | None) -> None:
        if outcome is not None:
            getattr(self, outcome[0]).append(outcome[1])


def entity_name(value: str, fallback: str) -> str:
    """`value` made a valid entity name (≤ 63, letters, digits, `-_.` inside)."""
    name = _NAME_BAD.sub("-", value)[:63].strip("-_.")
    return name or fallback


def _upsert(
    *,
    kind: str,
    name: str,
    platform_ref: str,
    metadata: dict[str, Any],
    spec: dict[str, Any],
    team: Team | None,
    service: Service | None = None,
    owner_ref: str = "",
) -> tuple[str, str] | None:
    """Write one platform entity when it differs; relations follow. None when unchanged."""
    metadata = {k: v for k, v in metadata.items() if v not in (None, "", [], {})}
    entity = Entity.objects.filter(platform_ref=platform_ref, kind=kind).first()
    if entity is None:
        taken = Entity.objects.filter(kind=kind, namespace=DEFAULT_NAMESPACE, name=name).first()
        if taken is not None and kind in (EntityKind.GROUP, EntityKind.USER):
            entity = taken  # the platform's own team or person: it takes the name over
        elif taken is not None:
            name = f"{name[:55]}-{platform_ref.split(':')[-1]}"
    new_hash = content_hash(
        kind, DEFAULT_NAMESPACE, entity.name if entity else name, metadata, spec
    )
    problems = owner_problems(owner_ref, team, None)
    if entity is not None and (
        entity.content_hash == new_hash
        and entity.team_id == (team.pk if team else None)
        and entity.origin == EntityOrigin.PLATFORM
        and entity.platform_ref == platform_ref
        and entity.service_id == (service.pk if service else None)
    ):
        return None
    created = entity is None
    if entity is None:
        entity = Entity(kind=kind, namespace=DEFAULT_NAMESPACE, name=name)
    apply_values(entity, metadata, spec)
    entity.owner_ref = owner_ref
    entity.team = team
    entity.service = service
    entity.origin = EntityOrigin.PLATFORM
    entity.platform_ref = platform_ref
    entity.location = None
    entity.orphaned = False
    dangling = [p for p in (entity.problems or []) if p.get("code") == relations.DANGLING]
    entity.problems = problems + dangling
    entity.save()
    relations.refresh_problems(relations.rebuild([entity]))
    return ("created" if created else "changed", entity.ref)


def _delete(entities: list[Entity]) -> list[str]:
    if not entities:
        return []
    refs = [e.ref for e in entities]
    touched = relations.before_delete(entities)
    Entity.objects.filter(pk__in=[e.pk for e in entities]).delete()
    relations.refresh_problems(touched)
    return refs


def group_ref(team: Team) -> str:
    return entity_ref(EntityKind.GROUP, DEFAULT_NAMESPACE, team.slug)


@transaction.atomic
def sync_team(team: Team) -> tuple[str, str] | None:
    """The team's Group entity (name = team slug)."""
    outcome = _upsert(
        kind=EntityKind.GROUP,
        name=team.slug,
        platform_ref=f"team:{team.pk}",
        metadata={"title": team.name, "description": team.description},
        spec={"type": "team", "profile": {"displayName": team.name}, "children": []},
        team=team,
    )
    # Entities that named this team before it existed now resolve to it.
    waiting = Entity.objects.filter(team__isnull=True, owner_ref=group_ref(team))
    for entity in waiting:
        entity.team = team
        entity.problems = [p for p in entity.problems if p.get("code") != UNKNOWN_OWNER]
        entity.save(update_fields=["team", "problems", "updated_at"])
    return outcome


def ensure_group(team: Team) -> None:
    """The Group of a team an import names as owner exists before its relations are built."""
    if not Entity.objects.filter(platform_ref=f"team:{team.pk}", kind=EntityKind.GROUP).exists():
        sync_team(team)


@transaction.atomic
def sync_user(user: Any) -> tuple[str, str] | None:
    """A member of at least one team as a User entity (memberOf its teams' Groups)."""
    platform_ref = f"user:{user.pk}"
    slugs = sorted(Membership.objects.filter(user=user).values_list("team__slug", flat=True))
    if not slugs or not user.is_active:
        gone = _delete(list(Entity.objects.filter(platform_ref=platform_ref)))
        return ("deleted", gone[0]) if gone else None
    display = user.get_full_name() or user.get_username()
    return _upsert(
        kind=EntityKind.USER,
        name=entity_name(user.get_username(), f"user-{user.pk}"),
        platform_ref=platform_ref,
        metadata={},
        spec={
            "profile": {"displayName": display},
            "memberOf": [entity_ref(EntityKind.GROUP, DEFAULT_NAMESPACE, s) for s in slugs],
        },
        team=None,
    )


def _component_spec(service: Service) -> dict[str, Any]:
    return {"type": "service", "lifecycle": service.lifecycle, "owner": group_ref(service.team)}


@transaction.atomic
def sync_service(service: Service) -> tuple[str, str] | None:
    """A service as its Component; an imported Component of the same name is enriched."""
    service = Service.objects.select_related("team").get(pk=service.pk)
    current = (
        Entity.objects.filter(service=service).first()
        or Entity.objects.filter(
            kind=EntityKind.COMPONENT, namespace=DEFAULT_NAMESPACE, name=service.slug
        ).first()
    )
    if service.archived:
        if current is not None and current.origin == EntityOrigin.PLATFORM:
            return ("deleted", _delete([current])[0])
        return None
    if current is not None and current.origin != EntityOrigin.PLATFORM:
        metadata = merge_service_facts(metadata_of(current), service)
        new_hash = content_hash(
            current.kind, current.namespace, current.name, metadata, current.spec
        )
        if (
            new_hash == current.content_hash
            and current.service_id == service.pk
            and current.team_id == service.team_id
        ):
            return None
        apply_values(current, metadata, current.spec)
        current.service = service
        current.team = service.team
        slug = team_slug_of(current.owner_ref)
        owner = Team.objects.filter(slug=slug).first() if slug else None
        dangling = [p for p in current.problems if p.get("code") == relations.DANGLING]
        current.problems = owner_problems(current.owner_ref, owner, service) + dangling
        current.save()
        return ("changed", current.ref)
    metadata = {
        "title": service.name if service.name != service.slug else "",
        "description": service.description,
        "tags": clean_tags(service.tags),
        "links": [dict(link) for link in service.links],
        "annotations": service_annotations(service),
    }
    return _upsert(
        kind=EntityKind.COMPONENT,
        name=service.slug,
        platform_ref=f"service:{service.pk}",
        metadata=metadata,
        spec=_component_spec(service),
        team=service.team,
        service=service,
        owner_ref=group_ref(service.team),
    )


def live_resources() -> Any:
    from provisioning.choices import RESOURCE_GONE
    from provisioning.models import Resource

    return Resource.objects.filter(provisioned_at__isnull=False).exclude(status__in=RESOURCE_GONE)


@transaction.atomic
def sync_resource(resource_id: int) -> tuple[str, str] | None:
    """A live provisioned resource as a Resource entity (its service's Component depends on
    it); once destroyed its entity goes."""
    platform_ref = f"resource:{resource_id}"
    resource = (
        live_resources()
        .select_related("team", "service", "template", "environment")
        .filter(pk=resource_id)
        .first()
    )
    if resource is None:
        gone = _delete(list(Entity.objects.filter(platform_ref=platform_ref)))
        return ("deleted", gone[0]) if gone else None
    spec: dict[str, Any] = {"type": resource.template.slug, "owner": group_ref(resource.team)}
    if resource.service is not None and not resource.service.archived:
        spec["dependencyOf"] = [
            entity_ref(EntityKind.COMPONENT, DEFAULT_NAMESPACE, resource.service.slug)
        ]
    return _upsert(
        kind=EntityKind.RESOURCE,
        name=entity_name(
            f"{resource.team.slug}-{resource.environment.slug}-{resource.name}",
            f"resource-{resource.pk}",
        ),
        platform_ref=platform_ref,
        metadata={
            "title": f"{resource.name} ({resource.environment.slug})",
            "description": resource.template.title,
            "tags": clean_tags([resource.environment.slug]),
        },
        spec=spec,
        team=resource.team,
        owner_ref=group_ref(resource.team),
    )


def sync_platform_entities() -> PlatformSyncReport:
    """Every team, member, service and live resource as entities; entities of objects that
    are gone are deleted. Safe to run any number of times."""
    report = PlatformSyncReport()
    teams = list(Team.objects.all())
    for team in teams:
        report.add(sync_team(team))
    member_ids = set(Membership.objects.values_list("user_id", flat=True))
    user_refs = {f"user:{pk}" for pk in member_ids}
    for user in get_user_model().objects.filter(pk__in=member_ids):
        report.add(sync_user(user))
    for service in Service.objects.select_related("team"):
        report.add(sync_service(service))
    live_ids = set(live_resources().values_list("pk", flat=True))
    for resource_id in sorted(live_ids):
        report.add(sync_resource(resource_id))
    keep = {f"team:{t.pk}" for t in teams} | user_refs | {f"resource:{pk}" for pk in live_ids}
    keep |= {
        f"service:{pk}"
        for pk in Service.objects.filter(archived=False).values_list("pk", flat=True)
    }
    with transaction.atomic():
        stale = [
            e
            for e in Entity.objects.filter(origin=EntityOrigin.PLATFORM)
            if e.platform_ref not in keep
        ]
        report.deleted += _delete(stale)
    return report


@transaction.atomic
def forget(platform_ref: str) -> list[str]:
    """Delete the entity of a platform object that is gone (e.g. `team:5`)."""
    return _delete(list(Entity.objects.filter(platform_ref=platform_ref)))
