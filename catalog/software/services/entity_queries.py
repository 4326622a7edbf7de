"""Reading the catalog's entities: who sees which, search, relations and the dependency graph.

The one visibility rule of the catalog lives here (`visible_entities`): every entity is part
of the organisation's shared map and readable by every signed-in user, except the Resources
that mirror the platform's provisioned resources (origin "platform", platform_ref
"resource:<id>"), which only their team's members and platform admins see. Every function
takes the reading user and never returns what that user may not see.

Each function runs a fixed number of queries whatever the size of the catalog.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.db.models.fields.json import KT

from catalog.choices import INVERSE, EntityKind, RelationType
from catalog.models import Entity, EntityRelation
from idp.rbac import team_ids

from .entities import access

MAX_TERMS = 8  # words of a query; more only slow the search down
MAX_DEPTH = 3

# The fields a search result (plus `spec_type`), a graph node and a relation's target show.
LIST_FIELDS = (
    "id",
    "kind",
    "namespace",
    "name",
    "title",
    "description",
    "tags",
    "owner_ref",
    "team_id",
    "orphaned",
)
NODE_FIELDS = ("id", "kind", "namespace", "name", "title", "team_id")

# The direction a graph draws each pair of relations in (the other is its inverse).
FORWARD = frozenset(
    {
        RelationType.OWNED_BY,
        RelationType.PART_OF,
        RelationType.PROVIDES_API,
        RelationType.CONSUMES_API,
        RelationType.DEPENDS_ON,
        RelationType.MEMBER_OF,
        RelationType.CHILD_OF,
    }
)
RELATION_ORDER = {value: index for index, value in enumerate(RelationType.values)}
_KINDS = {kind.lower(): kind for kind in EntityKind.values}


def resolve_kind(text: str | None) -> str | None:
    """The EntityKind value for a kind written in any case (`component`, `API`), else None."""
    return _KINDS.get((text or "").strip().lower())


# The one visibility rule lives with the entities (`catalog/software/services/entities/access.py`).
visible_entities = access.visible_entities
can_view = access.can_view


def get_entity(user: Any, kind: str, namespace: str, name: str) -> Entity | None:
    """The entity `kind:namespace/name` when `user` may read it, else None (not there or not
    theirs: the caller answers 404 for both)."""
    value = resolve_kind(kind)
    if value is None:
        return None
    return (
        visible_entities(user)
        .select_related("team", "service__team", "location")
        .filter(kind=value, namespace=namespace, name=name)
        .first()
    )


# --- Search ---------------------------------------------------------------------------------


def search(user: Any, q: str, kind: str | None = None, limit: int = 20) -> list[Entity]:
    """Entities matching every word of `q` in their name, title, description or tags, best
    first: exact name, then name prefix, then name, then title, then description and tags.

    An empty query lists the entities (of `kind`) by name. One query, whatever the size of
    the catalog: the filter and the ranking are the database's (icontains + a CASE rank,
    the same on PostgreSQL and SQLite).
    """
    entities = visible_entities(user)
    if kind:
        value = resolve_kind(kind)
        if value is None:
            return []
        entities = entities.filter(kind=value)
    limit = max(1, min(int(limit), 500))
    text = " ".join(q.split())
    if not text:
        entities = entities.annotate(spec_type=KT("spec__type"))
        return list(entities.only(*LIST_FIELDS).order_by("name", "kind", "namespace")[:limit])
    for term in text.split()[:MAX_TERMS]:
        # search_text is kept lower-cased: a plain LIKE on one column, where icontains would
        # upper-case four columns of every row (3x slower at 50,000 entities on PostgreSQL).
        # An entity whose search_text was never filled is still found by its own fields.
        # On PostgreSQL both branches have an index (migration 0008): the LIKE a GIN trigram
        # one (terms of 3 characters or more), `search_text = ''` a partial one; the planner
        # ORs the two instead of reading every row when the term is rare enough.
        entities = entities.filter(
            Q(search_text__contains=term.lower())
            | (
                Q(search_text="")
                & (
                    Q(name__icontains=term)
                    | Q(title__icontains=term)
                    | Q(description__icontains=term)
                )
            )
        )
    rank = Case(
        When(name__iexact=text, then=Value(0)),
        When(name__istartswith=text, then=Value(1)),
        When(name__icontains=text, then=Value(2)),
        When(title__icontains=text, then=Value(3)),
        default=Value(4),
        output_field=IntegerField(),
    )
    return list(
        entities.annotate(rank=rank, spec_type=KT("spec__type"))
        .only(*LIST_FIELDS)
        .order_by("rank", "name", "kind", "namespace")[:limit]
    )


# --- Relations of one entity ----------------------------------------------------------------


@dataclass
class RelationItem:
    type: str
    target_ref: str
    target: Entity | None  # None: dangling (no such entity in the catalog)

    @property
    def dangling(self) -> bool:
        return self.target is None


@dataclass
class RelationGroup:
    type: str
    label: str
    items: list[RelationItem] = field(default_factory=list)


@dataclass
class Relations:
    groups: list[RelationGroup]
    truncated: bool  # more relations than shown

    def first(self, type_: str, kind: str | None = None) -> RelationItem | None:
        """The first relation of a type (and target kind, read from its ref), e.g. the owner."""
        for group in self.groups:
            if group.type != type_:
                continue
            for item in group.items:
                if kind is None or item.target_ref.startswith(kind.lower() + ":"):
                    return item
        return None


def _visible_targets(user: Any, relations: QuerySet[EntityRelation]) -> QuerySet[EntityRelation]:
    """Relations whose target `user` may read, or that dangle (nothing to hide there)."""
    if team_ids(user) is None:
        return relations
    return relations.filter(
        Q(target__isnull=True) | Q(target_id__in=visible_entities(user).values("pk"))
    )


def relations_of(user: Any, entity: Entity, limit: int = 500) -> Relations:
    """The entity's relations grouped by type (in RelationType's order), targets the user may
    not read left out, dangling ones kept. One query."""
    rows = list(
        _visible_targets(user, EntityRelation.objects.filter(source=entity))
        .select_related("target")
        .only("id", "type", "target_ref", "source_id", *(f"target__{f}" for f in NODE_FIELDS))
        .order_by("type", "target_ref")[: limit + 1]
    )
    truncated = len(rows) > limit
    groups: dict[str, RelationGroup] = {}
    labels = dict(RelationType.choices)
    for row in rows[:limit]:
        group = groups.get(row.type)
        if group is None:
            group = groups[row.type] = RelationGroup(row.type, str(labels.get(row.type, row.type)))
        group.items.append(RelationItem(row.type, row.target_ref, row.target))
    ordered = sorted(groups.values(), key=lambda g: RELATION_ORDER.get(g.type, 99))
    return Relations(ordered, truncated)


# --- The dependency graph -------------------------------------------------------------------


@dataclass(frozen=True)
class GraphNode:
    ref: str
    kind: str
    namespace: str
    name: str
    title: str = ""
    distance: int = 0  # hops from the centre
    dangling: bool = False


@dataclass(frozen=True)
class GraphEdge:
    source: str  # refs
    target: str
    type: str  # the forward relation (ownedBy, partOf, providesApi, …)


@dataclass
class Neighbourhood:
    center: str
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    truncated: bool  # more neighbours than `limit`


def _node(entity: Entity, distance: int) -> GraphNode:
    return GraphNode(entity.ref, entity.kind, entity.namespace, entity.name, entity.title, distance)


def _dangling_node(ref: str, distance: int) -> GraphNode:
    kind, _, rest = ref.partition(":")
    namespace, _, name = rest.partition("/")
    return GraphNode(ref, resolve_kind(kind) or kind, namespace, name, "", distance, True)


def _forward(source: str, type_: str, target: str) -> GraphEdge:
    if type_ in FORWARD or type_ not in INVERSE:
        return GraphEdge(source, target, type_)
    return GraphEdge(target, source, INVERSE[type_])


def neighbourhood(user: Any, entity: Entity, *, depth: int = 1, limit: int = 200) -> Neighbourhood:
    """The entities within `depth` relations of `entity` that `user` may read (at most `limit`
    besides the centre), the entity's dangling references, and every relation among them,
    each drawn once in its forward direction.

    One query per level of depth and one for the edges: independent of the catalog's size.
    """
    depth = max(1, min(int(depth), MAX_DEPTH))
    limit = max(1, int(limit))
    nodes: dict[int, GraphNode] = {entity.pk: _node(entity, 0)}
    dangling: dict[str, GraphNode] = {}
    edges: set[GraphEdge] = set()
    truncated = False
    frontier = [entity.pk]
    for distance in range(1, depth + 1):
        room = limit - len(nodes) - len(dangling) + 1
        if not frontier or room <= 0:
            truncated = truncated or bool(frontier)
            break
        relations = EntityRelation.objects.filter(source_id__in=frontier)
        if distance > 1:
            relations = relations.filter(target__isnull=False).exclude(target_id__in=list(nodes))
        # Each new neighbour may be reached by a few relations: fetch enough rows to fill the
        # room, bounded by `limit` whatever the number of relations.
        cap = room * 3 + 1
        rows = list(
            _visible_targets(user, relations)
            .select_related("target")
            .only("id", "type", "target_ref", "source_id", *(f"target__{f}" for f in NODE_FIELDS))
            .order_by("source_id", "type", "target_ref")[:cap]
        )
        truncated = truncated or len(rows) == cap
        found: list[int] = []
        for row in rows:
            source_ref = nodes[row.source_id].ref
            target = row.target
            if target is None:
                if distance > 1:
                    continue
                if row.target_ref not in dangling:
                    if len(nodes) + len(dangling) > limit:
                        truncated = True
                        continue
                    dangling[row.target_ref] = _dangling_node(row.target_ref, distance)
                edges.add(_forward(source_ref, row.type, row.target_ref))
                continue
            if target.pk not in nodes:
                if len(nodes) + len(dangling) > limit:
                    truncated = True
                    continue
                nodes[target.pk] = _node(target, distance)
                found.append(target.pk)
        frontier = found
    # Every relation among the nodes (an API between two components of a system, …).
    ids = list(nodes)
    for source_id, type_, target_id in EntityRelation.objects.filter(
        source_id__in=ids, target_id__in=ids
    ).values_list("source_id", "type", "target_id"):
        edges.add(_forward(nodes[source_id].ref, type_, nodes[target_id].ref))
    ordered = sorted(
        [*nodes.values(), *dangling.values()], key=lambda n: (n.distance, n.kind, n.ref)
    )
    return Neighbourhood(
        center=entity.ref,
        nodes=ordered,
        edges=sorted(edges, key=lambda e: (e.source, e.type, e.target)),
        truncated=truncated,
    )


# --- API definitions ------------------------------------------------------------------------


@dataclass
class ApiDefinition:
    type: str  # spec.type, lower-cased: openapi, asyncapi, graphql, grpc, …
    text: str  # the definition as written
    document: dict[str, Any] | None = None  # an OpenAPI definition, parsed
    error: str = ""  # why an OpenAPI definition could not be parsed


def api_definition(entity: Entity) -> ApiDefinition | None:
    """An API entity's `spec.definition`: its text, and for OpenAPI the parsed document the
    portal hands to Swagger UI (YAML or JSON; a definition that does not parse is shown as
    text with the parser's message). None for other kinds or an API without a definition."""
    if entity.kind != EntityKind.API:
        return None
    raw = (entity.spec or {}).get("definition")
    if raw in (None, ""):
        return None
    api_type = str((entity.spec or {}).get("type") or "").strip().lower()
    text = raw if isinstance(raw, str) else json.dumps(raw, indent=2, sort_keys=False)
    definition = ApiDefinition(api_type, text)
    if api_type == "openapi":
        try:
            document = raw if isinstance(raw, dict) else yaml.safe_load(text)
        except yaml.YAMLError as exc:
            definition.error = f"The definition is not valid YAML or JSON: {exc}"
            return definition
        if isinstance(document, dict) and ("openapi" in document or "swagger" in document):
            definition.document = document
        else:
            definition.error = "The definition has no `openapi` (or `swagger`) version field."
    return definition
