"""Catalog benchmark: search, an entity's page and the dependency graph of a component with
200 neighbours, on a catalog of 50,000 entities and 200,000 relations.

Everything runs in process through the Django test client, signed in as a member of one of
two bench teams, so the visibility rule is on (half the Resources mirror provisioned
resources, a part of them the other team's). The figures: p95 milliseconds of each request,
and the SQL queries of each at the seeded size and after more entities and relations land
(inside a transaction that is rolled back): the counts must not grow.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.choices import INVERSE, EntityKind, EntityOrigin, RelationType
from catalog.models import Entity, EntityRelation
from idp import services as idp_services
from idp.choices import Role
from idp.models import Team

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
NAMESPACE = "bench"  # every bench entity lives here: reseeding never touches real ones
HUB = "bench-hub"
TEAMS = ("catalog-bench", "catalog-bench-other")
MEMBER = "catalog-bench-member"
GOAL_SEARCH_P95_MS = 300.0
GOAL_PAGE_P95_MS = 300.0
GOAL_GRAPH_P95_MS = 500.0

WORDS = ("orders", "payments", "search", "billing", "ledger", "shipping", "inventory",
         "accounts", "profile", "checkout", "catalog", "pricing", "reviews", "fraud")  # fmt: skip
TAGS = ("python", "java", "go", "kafka", "postgres", "grpc", "frontend", "batch")
KIND_WEIGHTS = (
    (EntityKind.COMPONENT, 40),
    (EntityKind.API, 12),
    (EntityKind.RESOURCE, 28),
    (EntityKind.SYSTEM, 4),
    (EntityKind.DOMAIN, 1),
    (EntityKind.GROUP, 3),
    (EntityKind.USER, 12),
)
RELATION_TYPES = (
    RelationType.DEPENDS_ON,
    RelationType.PART_OF,
    RelationType.PROVIDES_API,
    RelationType.CONSUMES_API,
    RelationType.OWNED_BY,
)
SEARCHES = ("orders", "pay", "inventory 12", "ledger api", "kafka", "no-such-entity-anywhere")


@dataclass(frozen=True)
class Scale:
    entities: int
    relations: int  # rows, both directions counted (as stored)
    hub_neighbours: int = 200


FULL = Scale(50_000, 200_000)
QUICK = Scale(5_000, 20_000)
TINY = Scale(300, 1_000, hub_neighbours=30)


@dataclass
class Seeded:
    scale: Scale
    member_id: int
    hub_id: int
    entities: int
    relations: int
    seconds: float = 0.0


@dataclass
class Timing:
    key: str
    title: str
    runs: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        runs = sorted(self.runs)
        p95 = runs[min(len(runs) - 1, round(0.95 * (len(runs) - 1)))] if runs else None
        return {
            "key": self.key,
            "title": self.title,
            "runs": len(runs),
            "median_ms": round(statistics.median(runs), 2) if runs else None,
            "p95_ms": round(p95, 2) if p95 is not None else None,
        }


def _ref(kind: str, name: str) -> str:
    return f"{kind.lower()}:{NAMESPACE}/{name}"


def _member(teams: list[Team]) -> Any:
    User = get_user_model()
    user = User.objects.filter(username=MEMBER).first()
    if user is None:
        user = User.objects.create_user(MEMBER, email=f"{MEMBER}@example.com", password=None)
        idp_services.set_membership(teams[0], user, Role.MEMBER)
    return user


def _teams() -> list[Team]:
    return [
        Team.objects.filter(slug=slug).first() or idp_services.create_team(slug) for slug in TEAMS
    ]


def _name(index: int, kind: str) -> str:
    return HUB if index == 0 else f"{WORDS[index % len(WORDS)]}-{kind.lower()}-{index}"


def _team_index(index: int) -> int:
    return (index // 2) % 2


def _mirrors_a_resource(index: int, kind: str) -> bool:
    return kind == EntityKind.RESOURCE and index % 2 == 0  # half of them, of both teams


def _hidden_from_member(index: int, kind: str) -> bool:
    """A mirror of the other team's resource: the bench member (of the first team) never
    sees it."""
    return _mirrors_a_resource(index, kind) and _team_index(index) == 1


def _entity(index: int, kind: str, rng: random.Random, teams: list[Team]) -> Entity:
    word = WORDS[index % len(WORDS)]
    name = _name(index, kind)
    title = f"{word.title()} {kind} {index}"
    description = f"The {word} {kind.lower()} number {index}, part of the {word} estate."
    tags = [word, rng.choice(TAGS)]
    team = teams[_team_index(index)]
    mirror = _mirrors_a_resource(index, kind)
    return Entity(
        kind=kind,
        namespace=NAMESPACE,
        name=name,
        title=title,
        description=description,
        tags=tags,
        spec={"type": "service" if kind == EntityKind.COMPONENT else "other",
              "lifecycle": "production", "owner": f"group:default/{team.slug}"},
        owner_ref=f"group:default/{team.slug}",
        team=team,
        origin=EntityOrigin.PLATFORM if mirror else EntityOrigin.IMPORT,
        platform_ref=f"resource:{900_000 + index}" if mirror else "",
        search_text=" ".join([name, title, description, *tags]).lower(),
    )  # fmt: skip


def _kinds(count: int, rng: random.Random) -> list[str]:
    kinds = [kind for kind, _ in KIND_WEIGHTS]
    weights = [weight for _, weight in KIND_WEIGHTS]
    chosen = rng.choices(kinds, weights=weights, k=count)
    chosen[0] = EntityKind.COMPONENT  # the hub
    return chosen


def _pairs(
    rows: list[tuple[int, str, str]], scale: Scale, rng: random.Random
) -> Iterator[tuple[int, str, int]]:
    """(source, forward type, target) pairs: the hub's neighbours first (entities the bench
    member sees), then random ones among the other entities (never the hub, so it keeps
    exactly its neighbours)."""
    neighbours = [i for i in range(1, len(rows)) if not _hidden_from_member(i, rows[i][1])]
    for target in neighbours[: scale.hub_neighbours]:
        yield 0, RelationType.DEPENDS_ON, target
    others = len(rows) - 1
    while True:
        yield rng.randrange(1, others + 1), rng.choice(RELATION_TYPES), rng.randrange(1, others + 1)


def is_seeded(scale: Scale) -> bool:
    entities = Entity.objects.filter(namespace=NAMESPACE)
    return (
        entities.count() == scale.entities
        and EntityRelation.objects.filter(source__namespace=NAMESPACE).count() == scale.relations
    )


def seed(scale: Scale, *, batch: int = 2_000, log: Callable[[str], Any] = print) -> Seeded:
    """`scale.entities` entities and `scale.relations` relation rows in the bench namespace
    (kept when already there at that size), one Component with `hub_neighbours` neighbours."""
    started = time.perf_counter()
    teams = _teams()
    member = _member(teams)
    if not is_seeded(scale):
        log(f"catalog: seeding {scale.entities} entities and {scale.relations} relations…")
        EntityRelation.objects.filter(source__namespace=NAMESPACE).delete()
        EntityRelation.objects.filter(target__namespace=NAMESPACE).delete()
        Entity.objects.filter(namespace=NAMESPACE).delete()
        rng = random.Random(16)  # the same catalog every run
        kinds = _kinds(scale.entities, rng)
        for start in range(0, scale.entities, batch):
            Entity.objects.bulk_create(
                [_entity(i, kinds[i], rng, teams) for i in range(start, min(start + batch,
                                                                             scale.entities))]
            )  # fmt: skip
        ids = dict(Entity.objects.filter(namespace=NAMESPACE).values_list("name", "pk"))
        rows = [
            (ids[_name(i, kinds[i])], kinds[i], _name(i, kinds[i])) for i in range(scale.entities)
        ]
        seen: set[tuple[int, str, int]] = set()
        pending: list[EntityRelation] = []
        pairs = _pairs(rows, scale, rng)
        while len(seen) < scale.relations:
            a, type_, b = next(pairs)
            if a == b or (a, type_, b) in seen:
                continue
            for source, kind_type, target in ((a, type_, b), (b, INVERSE[type_], a)):
                if len(seen) >= scale.relations:
                    break
                seen.add((source, kind_type, target))
                pending.append(
                    EntityRelation(
                        source_id=rows[source][0],
                        type=kind_type,
                        target_id=rows[target][0],
                        target_ref=_ref(rows[target][1], rows[target][2]),
                    )
                )
            if len(pending) >= batch:
                EntityRelation.objects.bulk_create(pending, ignore_conflicts=True)
                pending = []
        EntityRelation.objects.bulk_create(pending, ignore_conflicts=True)
    hub = Entity.objects.get(kind=EntityKind.COMPONENT, namespace=NAMESPACE, name=HUB)
    return Seeded(
        scale=scale,
        member_id=member.pk,
        hub_id=hub.pk,
        entities=Entity.objects.filter(namespace=NAMESPACE).count(),
        relations=EntityRelation.objects.filter(source__namespace=NAMESPACE).count(),
        seconds=round(time.perf_counter() - started, 1),
    )


def _page(entity: Entity) -> str:
    return reverse(
        "catalog:entity_detail", args=[entity.kind.lower(), entity.namespace, entity.name]
    )


def _graph(entity: Entity) -> str:
    return reverse(
        "catalog:entity_graph", args=[entity.kind.lower(), entity.namespace, entity.name]
    )


def _requests(seeded: Seeded) -> dict[str, tuple[str, list[str]]]:
    """key → (title, the paths it requests)."""
    hub = Entity.objects.get(pk=seeded.hub_id)
    sample = list(
        Entity.objects.filter(namespace=NAMESPACE, kind__in=[EntityKind.COMPONENT, EntityKind.API])
        .exclude(pk=hub.pk)
        .order_by("pk")[:5]
    )
    search = reverse("catalog:entity_search")
    return {
        "search": ("search as you type", [f"{search}?q={q.replace(' ', '+')}" for q in SEARCHES]),
        "entity_page": ("entity page", [_page(hub), *(_page(e) for e in sample)]),
        "graph": (f"graph of a component with {seeded.scale.hub_neighbours} neighbours",
                  [_graph(hub)]),
    }  # fmt: skip


def _client(member_id: int) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.get(pk=member_id), backend=MODEL_BACKEND)
    return client


def _count(client: Client, path: str) -> tuple[int, int]:
    client.get(path)  # warm: session, grants
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    return response.status_code, len(ctx.captured_queries)


class _Rollback(Exception):
    """Undo the probe rows."""


def _grow(seeded: Seeded, extra: int) -> None:
    """`extra` more entities matching the searches, each related to the hub's neighbours and
    the sampled pages' entities (not to the hub: its neighbours stay as seeded)."""
    teams = _teams()
    rng = random.Random(61)
    base = seeded.scale.entities + 1_000_000
    created = Entity.objects.bulk_create(
        [_entity(base + i, EntityKind.COMPONENT, rng, teams) for i in range(extra)]
    )
    targets = list(
        Entity.objects.filter(namespace=NAMESPACE).exclude(pk=seeded.hub_id).order_by("pk")[:50]
    )
    rows = []
    for i, entity in enumerate(created):
        target = targets[i % len(targets)]
        rows.append(
            EntityRelation(
                source=entity, type=RelationType.DEPENDS_ON, target=target, target_ref=target.ref
            )
        )
        rows.append(EntityRelation(source=target, type=RelationType.DEPENDENCY_OF, target=entity,
                                   target_ref=entity.ref))  # fmt: skip
    EntityRelation.objects.bulk_create(rows, ignore_conflicts=True)


def query_counts(seeded: Seeded, grow_by: int = 500) -> list[dict[str, Any]]:
    """Queries of each request at the seeded size and with `grow_by` more entities (rolled
    back)."""
    client = _client(seeded.member_id)
    requests = _requests(seeded)
    before = {path: _count(client, path) for _, paths in requests.values() for path in paths}
    after: dict[str, tuple[int, int]] = {}
    try:
        with transaction.atomic():
            _grow(seeded, grow_by)
            after = {path: _count(client, path) for path in before}
            raise _Rollback
    except _Rollback:
        pass
    rows = []
    for key, (title, paths) in requests.items():
        for path in paths:
            (status_small, small), (status_large, large) = before[path], after[path]
            independent = status_small == status_large == 200 and large <= small
            rows.append({"key": key, "title": title, "path": path, "status": status_large,
                         "queries_small": small, "queries_large": large,
                         "independent": independent})  # fmt: skip
    return rows


def measure(seeded: Seeded, repeats: int = 30) -> dict[str, Any]:
    """p95 milliseconds of each request kind (each path warmed once, then `repeats` runs
    spread over its paths), the hub's graph checked to hold all its neighbours."""
    client = _client(seeded.member_id)
    timings = []
    for key, (title, paths) in _requests(seeded).items():
        timing = Timing(key, title)
        for path in paths:
            client.get(path)
        for run in range(max(repeats, len(paths))):
            path = paths[run % len(paths)]
            started = time.perf_counter()
            response = client.get(path)
            timing.runs.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}")
        timings.append(timing.summary())
    graph = client.get(_requests(seeded)["graph"][1][0]).json()
    return {
        "entities": seeded.entities,
        "relations": seeded.relations,
        "timings": timings,
        "graph_nodes": len(graph["elements"]["nodes"]),
        "graph_edges": len(graph["elements"]["edges"]),
    }


def run_section(
    results: Any,
    *,
    quick: bool = False,
    scale: Scale | None = None,
    log: Callable[[str], Any] = print,
) -> None:
    """Seed (or reuse) the bench catalog (FULL, QUICK with `quick`, or `scale`), measure, and
    record the targets."""
    scale = scale or (QUICK if quick else FULL)
    seeded = seed(scale, log=log)
    log(f"catalog: {seeded.entities} entities, {seeded.relations} relations; measuring…")
    figures = measure(seeded, repeats=20 if quick else 60)
    counts = query_counts(seeded, grow_by=100 if quick else 500)
    results.sections["catalog"] = {**figures, "seed_seconds": seeded.seconds, "queries": counts}
    goals = {"search": GOAL_SEARCH_P95_MS, "entity_page": GOAL_PAGE_P95_MS,
             "graph": GOAL_GRAPH_P95_MS}  # fmt: skip
    for row in figures["timings"]:
        goal = goals[row["key"]]
        results.target("catalog", f"{row['title']} p95 (ms)", row["p95_ms"], f"≤ {goal:.0f} ms",
                       row["p95_ms"] is not None and row["p95_ms"] <= goal,
                       f"{seeded.entities} entities, {seeded.relations} relations")  # fmt: skip
    expected = scale.hub_neighbours + 1
    results.target("catalog", "graph nodes of the hub component", figures["graph_nodes"],
                   f"= {expected}", figures["graph_nodes"] == expected)  # fmt: skip
    for key in ("search", "entity_page", "graph"):
        rows = [r for r in counts if r["key"] == key]
        worst = max(r["queries_large"] for r in rows)
        results.target("catalog", f"{rows[0]['title']} queries independent of size", worst,
                       f"≤ {max(r['queries_small'] for r in rows)}",
                       all(r["independent"] for r in rows))  # fmt: skip
