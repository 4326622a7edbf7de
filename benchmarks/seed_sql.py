"""Server-side bulk rows for PostgreSQL: `INSERT … SELECT … FROM generate_series`.

At 100,000 resources, building model instances in Python dominates the seed time on a busy
machine; PostgreSQL makes the same rows itself. Columns the benchmark does not set get the
model field's default (or NULL), so a field added later with a default keeps working.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, models

from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.models import Resource, Run


def insert_select(
    model: type[models.Model], exprs: dict[str, str], from_sql: str, params: dict[str, Any]
) -> int:
    """Insert one row per row of `from_sql`; `exprs` maps field names to SQL expressions
    (named parameters `%(name)s` from `params`)."""
    columns: list[str] = []
    values: list[str] = []
    named = dict(params)
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.name in exprs:
            values.append(exprs[field.name])
        elif field.has_default() or (field.empty_strings_allowed and not field.null):
            key = f"default_{field.column}"
            values.append(f"%({key})s")
            named[key] = field.get_db_prep_save(field.get_default(), connection)
        elif field.null:
            values.append("NULL")
        else:
            raise ValueError(f"{model.__name__}.{field.name} needs a value")
    sql = (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM {from_sql}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, named)
        return int(cursor.rowcount)


def resources(
    *,
    team_ids: list[int],
    service_ids: list[int],
    version_ids: list[int],
    template_ids: list[int],
    environment_ids: list[int],
    requester_ids: list[int | None],
    statuses: list[str],
    count: int,
    prefix: str,
) -> int:
    """`count` resources spread as seed.create_resources spreads them (same formulas)."""
    t, v, e, k = len(team_ids), len(version_ids), len(environment_ids), len(statuses)
    per_team = max(len(service_ids) // t, 1)
    status = f"(%(statuses)s::text[])[1 + i %% {k}]"
    exprs = {
        "team": f"(%(teams)s::bigint[])[1 + i %% {t}]",
        "service": (
            f"(%(services)s::bigint[])[1 + (i %% {t}) + {t} * ((i / {t}) %% {per_team})]"
            if service_ids
            else "NULL"
        ),
        "template": f"(%(templates)s::bigint[])[1 + (i / {t}) %% {v}]",
        "template_version": f"(%(versions)s::bigint[])[1 + (i / {t}) %% {v}]",
        "environment": f"(%(environments)s::bigint[])[1 + i %% {e}]",
        "name": "%(prefix)s || '-' || lpad(i::text, 6, '0')",
        "parameters": "jsonb_build_object('value', 'value-' || i)",
        "status": status,
        "outputs": (
            f"CASE WHEN {status} = %(provisioned)s "
            "THEN jsonb_build_object('value', 'value-' || i) ELSE '{}'::jsonb END"
        ),
        "requested_by": f"(%(requesters)s::bigint[])[1 + i %% {t}]",
        # Spread over the past, newest last, like a real history.
        "created_at": "now() - make_interval(secs => %(count)s - i)",
        "updated_at": "now()",
    }
    params = {
        "teams": team_ids,
        "services": service_ids,
        "templates": template_ids,
        "versions": version_ids,
        "environments": environment_ids,
        "prefix": prefix,
        "statuses": statuses,
        "provisioned": str(ResourceStatus.PROVISIONED),
        "requesters": requester_ids,
        "count": count,
        "last": count - 1,
    }
    return insert_select(Resource, exprs, "generate_series(0, %(last)s) AS g(i)", params)


def runs(prefix: str, per_resource: int) -> int:
    """Runs for the resources named `prefix-…` that are past `pending`."""
    exprs = {
        "resource": "r.id",
        "kind": f"(ARRAY['{RunKind.PLAN}', '{RunKind.APPLY}', '{RunKind.DRIFT}'])[1 + r.id %% 3]",
        "status": (
            f"CASE WHEN r.status = '{ResourceStatus.FAILED}' AND n = 0 "
            f"THEN '{RunStatus.FAILED}' ELSE '{RunStatus.SUCCEEDED}' END"
        ),
        "template_version": "r.template_version_id",
        "parameters": "r.parameters",
        "plan_summary": """'{"add": 1, "change": 0, "destroy": 0}'::jsonb""",
        "created_at": "r.created_at",
    }
    table = connection.ops.quote_name(Resource._meta.db_table)
    from_sql = (
        f"{table} AS r CROSS JOIN generate_series(0, %(last)s) AS n "
        f"WHERE r.name LIKE %(pattern)s AND r.status <> '{ResourceStatus.PENDING}'"
    )
    return insert_select(Run, exprs, from_sql, {"last": per_resource - 1, "pattern": prefix + "-%"})
