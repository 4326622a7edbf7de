"""The catalog's search as you type reads indexes on PostgreSQL: the trigram index on the
lower-cased `search_text` (migration 0008) for `LIKE '%term%'`, and the partial index on the
entities whose search_text was never filled, instead of reading every row."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.choices import EntityKind, EntityOrigin
from catalog.models import Entity
from catalog.software.services import entity_queries as queries
from tests.utils import need

from .entity_support import search_text_of

pytestmark = pytest.mark.django_db

trigram = importlib.import_module("catalog.migrations.0008_entity_search_trigram")


def _entities(count: int) -> None:
    rows = []
    for index in range(count):
        name = f"orders-{index}" if index % 500 == 0 else f"svc-{index}"
        description = f"Service number {index}."
        rows.append(
            Entity(
                kind=EntityKind.COMPONENT,
                name=name,
                description=description,
                origin=EntityOrigin.IMPORT,
                search_text=search_text_of(name, "", description, ["python"]),
            )
        )
    Entity.objects.bulk_create(rows)


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_search_uses_the_trigram_index_and_the_partial_index(alice: Any) -> None:
    need(connection.vendor == "postgresql", "trigram indexes are PostgreSQL's (DATABASE_URL)")
    # A test database built from the models (--no-migrations) lacks the migration's index.
    with connection.schema_editor() as editor:
        trigram.create_trigram_index(None, editor)
    _entities(3_000)
    Entity.objects.create(kind=EntityKind.SYSTEM, name="bare", description="Holds ORDERS.")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_entity")
        cursor.execute("SET LOCAL enable_seqscan = off")

    with CaptureQueriesContext(connection) as captured:
        found = [e.ref for e in queries.search(alice, "Orders")]
    plan = _plan(captured.captured_queries[-1]["sql"])

    assert trigram.TRIGRAM_INDEX in plan, plan
    assert "catalog_entity_unsearchable" in plan, plan
    assert "Seq Scan" not in plan, plan
    # The same results as a plain scan: the names first, the unfilled entity by its fields.
    assert found == [
        *(f"component:default/orders-{i}" for i in (0, 1000, 1500, 2000, 2500, 500)),
        "system:default/bare",
    ]


def test_connections_price_random_reads_for_ssd_storage() -> None:
    """The planner's random_page_cost comes from IDP_DB_RANDOM_PAGE_COST (1.1, for SSD
    storage) on every connection the platform opens: with PostgreSQL's default of 4 a common
    search word reads the whole entity table instead of the trigram index."""
    need(connection.vendor == "postgresql", "a PostgreSQL setting (DATABASE_URL)")
    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        (value,) = cursor.fetchone()
    assert float(value) == 1.1
