"""Catalog entities made straight with the ORM (relations stored both ways, as the catalog
keeps them), for the portal's tests and the browser test."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from catalog.choices import INVERSE, EntityKind, EntityOrigin, RelationType
from catalog.models import Entity, EntityRelation, Service
from idp.models import Team

OPENAPI = """openapi: 3.0.3
info:
  title: Orders API
  version: 1.2.0
  description: Place and track orders.
paths:
  /orders:
    get:
      summary: List orders
      responses:
        "200":
          description: The orders
    post:
      summary: Place an order
      responses:
        "201":
          description: Placed
"""

GRAPHQL = """type Query {
  payment(id: ID!): Payment
}

# <script>alert("not run")</script>
type Payment {
  id: ID!
  amount: Float!
}
"""


def search_text_of(name: str, title: str, description: str, tags: list[str] | None) -> str:
    """What the catalog keeps in `Entity.search_text`: the searchable words, lower-cased."""
    return " ".join(p for p in (name, title, description, " ".join(tags or [])) if p).lower()


def make_entity(
    kind: str,
    name: str,
    *,
    namespace: str = "default",
    title: str = "",
    description: str = "",
    tags: list[str] | None = None,
    spec: dict[str, Any] | None = None,
    team: Team | None = None,
    owner_ref: str = "",
    origin: str = EntityOrigin.IMPORT,
    platform_ref: str = "",
    **fields: Any,
) -> Entity:
    # update_or_create: with committed data (browser tests) the catalog's own hooks have
    # already made the Groups of the teams and the Component of a service.
    entity, _ = Entity.objects.update_or_create(
        kind=kind,
        namespace=namespace,
        name=name,
        defaults=dict(
            title=title,
            description=description,
            tags=tags or [],
            spec=spec or {},
            team=team,
            owner_ref=owner_ref,
            origin=origin,
            platform_ref=platform_ref,
            search_text=search_text_of(name, title, description, tags),
            **fields,
        ),
    )
    return entity


def relate(source: Entity, type_: str, target: Entity | str) -> None:
    """`source type target`, and its inverse when the target is in the catalog; a ref for a
    target that is not (a dangling relation)."""
    if isinstance(target, str):
        EntityRelation.objects.get_or_create(
            source=source, type=type_, target_ref=target, defaults={"target": None}
        )
        return
    EntityRelation.objects.update_or_create(
        source=source, type=type_, target_ref=target.ref, defaults={"target": target}
    )
    EntityRelation.objects.update_or_create(
        source=target, type=INVERSE[type_], target_ref=source.ref, defaults={"target": source}
    )


def mirror_resource(name: str, team: Team, pk: int) -> Entity:
    """A Resource entity mirroring a provisioned resource of `team` (private to that team)."""
    return make_entity(
        EntityKind.RESOURCE,
        name,
        spec={"type": "database", "owner": f"group:default/{team.slug}"},
        team=team,
        owner_ref=f"group:default/{team.slug}",
        origin=EntityOrigin.PLATFORM,
        platform_ref=f"resource:{pk}",
        description=f"A resource of {team.slug}",
    )


@dataclass
class CatalogMap:
    payments: Entity
    search_group: Entity
    checkout: Entity
    orders: Entity
    billing: Entity
    orders_api: Entity
    payments_graphql: Entity
    orders_db: Entity
    search_index: Entity
    service: Service


def build_map(teams: dict[str, Team]) -> CatalogMap:
    """A system with two components (one providing an OpenAPI API the other consumes), their
    owner groups, a resource of each team, a GraphQL API and a dangling dependency."""
    payments = make_entity(
        EntityKind.GROUP,
        "payments",
        title="Payments team",
        team=teams["payments"],
        origin=EntityOrigin.PLATFORM,
        platform_ref=f"team:{teams['payments'].pk}",
        spec={"type": "team", "children": []},
    )
    search_group = make_entity(
        EntityKind.GROUP,
        "search",
        team=teams["search"],
        origin=EntityOrigin.PLATFORM,
        platform_ref=f"team:{teams['search'].pk}",
        spec={"type": "team", "children": []},
    )
    checkout = make_entity(
        EntityKind.SYSTEM,
        "checkout",
        title="Checkout",
        description="Everything between the basket and the receipt.",
        team=teams["payments"],
        owner_ref="group:default/payments",
        spec={"owner": "payments"},
    )
    service = Service.objects.create(
        team=teams["payments"], name="Orders", slug="orders", description="Orders"
    )
    orders = make_entity(
        EntityKind.COMPONENT,
        "orders",
        title="Orders service",
        description="Takes orders from the web shop.",
        tags=["python", "checkout"],
        team=teams["payments"],
        owner_ref="group:default/payments",
        spec={"type": "service", "lifecycle": "production", "owner": "payments",
              "system": "checkout", "providesApis": ["orders-api"]},
        links=[
            {"url": "https://runbooks.example.com/orders", "title": "Runbook"},
            {"url": "javascript:alert(1)", "title": "Sneaky"},
        ],
        annotations={"github.com/project-slug": "acme/orders"},
        service=service,
        origin=EntityOrigin.PLATFORM,
        platform_ref=f"service:{service.pk}",
    )  # fmt: skip
    billing = make_entity(
        EntityKind.COMPONENT,
        "billing",
        description="Bills the orders once they ship.",
        team=teams["search"],
        owner_ref="group:default/search",
        spec={"type": "service", "lifecycle": "experimental", "owner": "search",
              "consumesApis": ["orders-api"]},
    )  # fmt: skip
    orders_api = make_entity(
        EntityKind.API,
        "orders-api",
        title="Orders API",
        team=teams["payments"],
        owner_ref="group:default/payments",
        spec={"type": "openapi", "lifecycle": "production", "owner": "payments",
              "definition": OPENAPI},
    )  # fmt: skip
    payments_graphql = make_entity(
        EntityKind.API,
        "payments-graphql",
        team=teams["payments"],
        owner_ref="group:default/payments",
        spec={"type": "graphql", "lifecycle": "production", "owner": "payments",
              "definition": GRAPHQL},
    )  # fmt: skip
    orders_db = mirror_resource("orders-db", teams["payments"], 9001)
    search_index = mirror_resource("search-index", teams["search"], 9002)

    for owned in (checkout, orders, orders_api, payments_graphql, orders_db):
        relate(owned, RelationType.OWNED_BY, payments)
    for owned in (billing, search_index):
        relate(owned, RelationType.OWNED_BY, search_group)
    for part in (orders, billing, orders_api):
        relate(part, RelationType.PART_OF, checkout)
    relate(orders, RelationType.PROVIDES_API, orders_api)
    relate(billing, RelationType.CONSUMES_API, orders_api)
    relate(orders, RelationType.DEPENDS_ON, orders_db)
    relate(orders, RelationType.DEPENDS_ON, search_index)
    relate(orders, RelationType.DEPENDS_ON, "resource:default/legacy-queue")
    return CatalogMap(
        payments=payments,
        search_group=search_group,
        checkout=checkout,
        orders=orders,
        billing=billing,
        orders_api=orders_api,
        payments_graphql=payments_graphql,
        orders_db=orders_db,
        search_index=search_index,
        service=service,
    )
