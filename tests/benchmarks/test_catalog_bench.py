"""The catalog benchmark's code paths at tiny scale, so they keep working between full runs."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from benchmarks import catalog
from catalog.choices import INVERSE, EntityKind
from catalog.models import Entity, EntityRelation
from catalog.software.services import entity_queries

pytestmark = pytest.mark.django_db

SCALE = catalog.Scale(entities=240, relations=800, hub_neighbours=30)


class Results:
    """What run_section writes into (the benchmark's Results, reduced to its two parts)."""

    def __init__(self) -> None:
        self.sections: dict[str, Any] = {}
        self.targets: list[tuple[Any, ...]] = []

    def target(self, *args: Any) -> None:
        self.targets.append(args)


def test_the_seed_makes_the_catalog_it_says_and_keeps_it_when_seeded() -> None:
    seeded = catalog.seed(SCALE, log=lambda _: None)

    assert seeded.entities == SCALE.entities
    assert seeded.relations == SCALE.relations
    hub = Entity.objects.get(pk=seeded.hub_id)
    assert hub.kind == EntityKind.COMPONENT and hub.name == catalog.HUB
    # Relations are stored both ways.
    sample = EntityRelation.objects.filter(source=hub).first()
    assert (
        sample is not None
        and EntityRelation.objects.filter(
            source=sample.target, target=hub, type=INVERSE[sample.type]
        ).exists()
    )
    member = get_user_model().objects.get(pk=seeded.member_id)
    graph = entity_queries.neighbourhood(member, hub)
    assert len(graph.nodes) == SCALE.hub_neighbours + 1 and not graph.truncated
    # The member does not see the other team's resource mirrors.
    hidden = Entity.objects.filter(
        namespace=catalog.NAMESPACE, kind=EntityKind.RESOURCE, platform_ref__startswith="resource:"
    ).exclude(team__slug=catalog.TEAMS[0])
    assert hidden.exists()
    visible = entity_queries.visible_entities(member).filter(namespace=catalog.NAMESPACE)
    assert visible.count() == SCALE.entities - hidden.count()

    again = catalog.seed(SCALE, log=lambda _: None)
    assert again.hub_id == seeded.hub_id  # reused, not seeded again


@pytest.mark.slow
def test_the_section_measures_p95s_and_finds_query_counts_independent_of_size() -> None:
    results = Results()
    seeded = catalog.seed(SCALE, log=lambda _: None)
    figures = catalog.measure(seeded, repeats=3)
    assert {t["key"] for t in figures["timings"]} == {"search", "entity_page", "graph"}
    assert all(t["p95_ms"] > 0 for t in figures["timings"])
    assert figures["graph_nodes"] == SCALE.hub_neighbours + 1

    before = Entity.objects.count()
    counts = catalog.query_counts(seeded, grow_by=40)
    assert Entity.objects.count() == before  # the probe rows are rolled back
    assert counts and all(row["status"] == 200 for row in counts)
    assert all(row["independent"] for row in counts), counts

    catalog.run_section(results, quick=True, scale=SCALE, log=lambda _: None)
    assert results.sections["catalog"]["graph_nodes"] == SCALE.hub_neighbours + 1
    names = [t[1] for t in results.targets]
    assert "graph nodes of the hub component" in names
    assert sum("queries independent of size" in n for n in names) == 3
    independent = [t for t in results.targets if "independent" in t[1]]
    assert all(t[4] for t in independent), independent
