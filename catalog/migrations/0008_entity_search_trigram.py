"""Catalog search uses indexes: a GIN trigram index on the lower-cased `Entity.search_text`
(PostgreSQL only: pg_trgm) serves `search_text LIKE '%term%'` for terms of 3 characters or
more, and a partial index on the entities whose search_text was never filled serves the
search's other branch, so PostgreSQL can answer a search with a bitmap OR of the two instead
of reading every row. SQLite keeps a plain scan (it has no trigram index) and gets only the
partial index."""

from django.db import migrations, models

TRIGRAM_INDEX = "catalog_entity_search_trgm"


def create_trigram_index(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} "
        "ON catalog_entity USING gin (search_text gin_trgm_ops)"
    )


def drop_trigram_index(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    # The extension stays: other database objects may use it, and it costs nothing unused.
    schema_editor.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0007_job_rows")]

    operations = [
        migrations.RunPython(create_trigram_index, drop_trigram_index),
        migrations.AddIndex(
            model_name="entity",
            index=models.Index(
                condition=models.Q(search_text=""),
                fields=["id"],
                name="catalog_entity_unsearchable",
            ),
        ),
    ]
