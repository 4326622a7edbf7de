"""Relations between entities, stored both ways, rebuilt from the entities' specs.

A row (source, type, target_ref) stands when its source's spec declares it, or when it is
the inverse of what its target declares. Rebuilding the rows that touch a set of entities
from those two facts keeps edges that other entities declare, resolves dangling ones when
their target appears, and turns edges into dangling ones when a target goes away.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q

from catalog.choices import INVERSE
from catalog.models import Entity, EntityRelation

from .refs import KINDS, declared, entity_ref, parse_ref

DANGLING = "dangling-ref"


def find_entities(refs: Iterable[str]) -> dict[str, Entity]:
    """The stored entities among `refs`, by ref (one query per 500 refs)."""
    wanted = []
    for value in set(refs):
        ref = parse_ref(value)
        if ref.stored_kind:
            wanted.append(Q(kind=ref.stored_kind, namespace=ref.namespace, name=ref.name))
    found: dict[str, Entity] = {}
    for start in range(0, len(wanted), 500):
        query = Q()
        for item in wanted[start : start + 500]:
            query |= item
        fields = ("id", "kind", "namespace", "name", "spec", "origin", "team")
        for entity in Entity.objects.filter(query).only(*fields):
            found[entity.ref] = entity
    return found


def rebuild(entities: list[Entity]) -> set[int]:
    """Make the relation rows touching `entities` what the specs say; returns the ids of
    every entity whose rows changed (their dangling problems need a refresh)."""
    if not entities:
        return set()
    by_ref = {e.ref: e for e in entities}
    out_rows = list(EntityRelation.objects.filter(source__in=[e.pk for e in entities]))
    in_rows = list(
        EntityRelation.objects.filter(target_ref__in=list(by_ref)).exclude(
            source__in=[e.pk for e in entities]
        )
    )
    wanted_refs = {ref for e in entities for _, ref in declared(e.kind, e.spec)}
    wanted_refs |= {row.target_ref for row in out_rows}
    targets = find_entities(wanted_refs - set(by_ref))
    targets.update(by_ref)
    others = {row.source_id for row in in_rows}
    other_entities = {
        e.pk: e
        for e in Entity.objects.filter(pk__in=others - {t.pk for t in targets.values()}).only(
            "id", "kind", "namespace", "name", "spec"
        )
    }
    for entity in targets.values():
        other_entities.setdefault(entity.pk, entity)
    declarations = {pk: declared(e.kind, e.spec) for pk, e in other_entities.items()}
    for entity in entities:
        declarations[entity.pk] = declared(entity.kind, entity.spec)

    desired: dict[tuple[int, str, str], int | None] = {}
    for entity in entities:
        for relation, ref in declarations[entity.pk]:
            target = targets.get(ref)
            desired[(entity.pk, relation, ref)] = target.pk if target else None
            if target is not None:
                desired[(target.pk, INVERSE[relation], entity.ref)] = entity.pk
    for pk, other in other_entities.items():
        for relation, ref in declarations.get(pk, set()):
            mine = by_ref.get(ref)
            if mine is None or other.pk == mine.pk:
                continue
            desired[(other.pk, relation, ref)] = mine.pk
            desired[(mine.pk, INVERSE[relation], other.ref)] = other.pk

    existing = {(r.source_id, r.type, r.target_ref): r for r in out_rows + in_rows}
    # Rows whose target is one of `entities` but that neither side declares any more.
    touched: set[int] = set()
    delete = [r.pk for key, r in existing.items() if key not in desired]
    touched |= {key[0] for key in existing if key not in desired}
    if delete:
        EntityRelation.objects.filter(pk__in=delete).delete()
    create = []
    for key, target_id in desired.items():
        row = existing.get(key)
        if row is None:
            create.append(
                EntityRelation(
                    source_id=key[0], type=key[1], target_ref=key[2], target_id=target_id
                )
            )
            touched.add(key[0])
        elif row.target_id != target_id:
            EntityRelation.objects.filter(pk=row.pk).update(target_id=target_id)
            touched.add(key[0])
    if create:
        # Every desired row touches `entities` (source or target_ref), so all were read.
        EntityRelation.objects.bulk_create(create, ignore_conflicts=True)
    return touched | {e.pk for e in entities}


def before_delete(entities: list[Entity]) -> set[int]:
    """Keep what others declare about entities about to be deleted as dangling edges (the
    cascade would drop them); returns the ids of the entities whose rows changed."""
    ids = [e.pk for e in entities]
    rows = list(EntityRelation.objects.filter(target__in=ids).exclude(source__in=ids))
    sources = {
        e.pk: e
        for e in Entity.objects.filter(pk__in={r.source_id for r in rows}).only(
            "id", "kind", "spec"
        )
    }
    keep = [
        r.pk
        for r in rows
        if (r.type, r.target_ref) in declared(sources[r.source_id].kind, sources[r.source_id].spec)
    ]
    if keep:
        EntityRelation.objects.filter(pk__in=keep).update(target=None)
    return set(sources)


def refresh_problems(ids: Iterable[int]) -> None:
    """Recompute the dangling-reference problems of these entities from their rows."""
    ids = list(set(ids))
    if not ids:
        return
    dangling: dict[int, list[str]] = {pk: [] for pk in ids}
    for source_id, target_ref, kind in EntityRelation.objects.filter(
        source__in=ids, target__isnull=True
    ).values_list("source_id", "target_ref", "type"):
        dangling[source_id].append(f"{kind} {target_ref}")
    for entity in Entity.objects.filter(pk__in=ids).only("id", "problems"):
        problems = [p for p in entity.problems if p.get("code") != DANGLING]
        problems += [dangling_problem(text) for text in sorted(dangling[entity.pk])]
        if problems != entity.problems:
            Entity.objects.filter(pk=entity.pk).update(problems=problems)


def dangling_problem(text: str) -> dict[str, Any]:
    relation, _, ref = text.partition(" ")
    return {
        "code": DANGLING,
        "ref": ref,
        "message": f"{relation} {ref}: no such entity in the catalog (yet)",
    }


__all__ = [
    "DANGLING",
    "KINDS",
    "before_delete",
    "entity_ref",
    "find_entities",
    "rebuild",
    "refresh_problems",
]
