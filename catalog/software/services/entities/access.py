"""Who sees which entity, and entities in Backstage's format.

The catalog is the organisation's shared map: every signed-in user reads every entity,
except the Resources that mirror provisioned resources (origin platform), which only their
team's members and platform admins see (others: 404).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from catalog.choices import EntityKind, EntityOrigin
from catalog.models import Entity, EntityRelation
from idp.rbac import team_ids

from .refs import KINDS, RefError, parse_ref

API_VERSION = "backstage.io/v1alpha1"
_UID_NAMESPACE = uuid.UUID("5c6c1b9e-3f0e-4d1f-9a55-6a0f4f3c2b10")


RESOURCE_MIRROR_PREFIX = "resource:"


def _private() -> Q:
    """The mirrors of provisioned resources: private to their team."""
    return Q(
        kind=EntityKind.RESOURCE,
        origin=EntityOrigin.PLATFORM,
        platform_ref__startswith=RESOURCE_MIRROR_PREFIX,
    )


def can_view(user: Any, entity: Entity) -> bool:
    """Whether `user` may read `entity` (the same rule as `visible_entities`, on one object)."""
    if not getattr(user, "is_authenticated", False):
        return False
    private = (
        entity.kind == EntityKind.RESOURCE
        and entity.origin == EntityOrigin.PLATFORM
        and entity.platform_ref.startswith(RESOURCE_MIRROR_PREFIX)
    )
    if not private:
        return True
    ids = team_ids(user, "view_team")
    return ids is None or entity.team_id in ids


def visible_entities(user: Any) -> QuerySet[Entity]:
    """The one access function of entities: what `user` may read."""
    if not getattr(user, "is_authenticated", False):
        return Entity.objects.none()
    ids = team_ids(user, "view_team")
    if ids is None:
        return Entity.objects.all()
    return Entity.objects.filter(~_private() | Q(team_id__in=ids))


def visible_relations(user: Any) -> QuerySet[EntityRelation]:
    """Relation rows `user` may read: none pointing at a Resource they may not see."""
    ids = team_ids(user, "view_team")
    rows = EntityRelation.objects.all()
    if ids is None:
        return rows
    return rows.filter(
        Q(target__isnull=True)
        | ~Q(target__kind=EntityKind.RESOURCE)
        | ~Q(target__origin=EntityOrigin.PLATFORM)
        | ~Q(target__platform_ref__startswith=RESOURCE_MIRROR_PREFIX)
        | Q(target__team_id__in=ids)
    )


def can_see(user: Any, entity: Entity) -> bool:
    if not (entity.kind == EntityKind.RESOURCE and entity.origin == EntityOrigin.PLATFORM):
        return bool(getattr(user, "is_authenticated", False))
    ids = team_ids(user, "view_team")
    return ids is None or entity.team_id in ids


def with_relations(queryset: QuerySet[Entity], user: Any) -> QuerySet[Entity]:
    """Entities with their visible relations loaded in one more query."""
    return queryset.prefetch_related(
        Prefetch(
            "relations",
            queryset=visible_relations(user).order_by("type", "target_ref"),
            to_attr="visible_relations",
        )
    )


def get_entity(user: Any, kind: str, namespace: str, name: str) -> Entity | None:
    """One entity by its reference parts (kind in any case), if `user` may read it."""
    stored = KINDS.get(kind.lower())
    if stored is None:
        return None
    return (
        with_relations(visible_entities(user), user)
        .filter(kind=stored, namespace=namespace, name=name)
        .first()
    )


def owner_filter(value: str) -> Q:
    """`owner=payments` (or group:default/payments, user:…) as a filter on owner_ref."""
    try:
        return Q(owner_ref=str(parse_ref(value, default_kind="group")))
    except RefError:
        return Q(pk__in=[])


def uid(entity: Entity) -> str:
    return str(uuid.uuid5(_UID_NAMESPACE, f"entity:{entity.pk}"))


def entity_document(entity: Entity) -> dict[str, Any]:
    """The entity as Backstage's API answers it (relations: those loaded by
    `with_relations`, else every stored one)."""
    metadata: dict[str, Any] = {"name": entity.name, "namespace": entity.namespace}
    if entity.title:
        metadata["title"] = entity.title
    if entity.description:
        metadata["description"] = entity.description
    metadata.update(
        labels=entity.labels or {},
        annotations=entity.annotations or {},
        tags=entity.tags or [],
        links=entity.links or [],
        uid=uid(entity),
        etag=entity.content_hash[:32],
    )
    rows = getattr(entity, "visible_relations", None)
    if rows is None:
        rows = list(entity.relations.order_by("type", "target_ref"))
    return {
        "apiVersion": API_VERSION,
        "kind": entity.kind,
        "metadata": metadata,
        "spec": entity.spec or {},
        "relations": [{"type": r.type, "targetRef": r.target_ref} for r in rows],
    }
