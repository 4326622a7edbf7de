"""The API's surface as clients depend on it, recorded so nothing disappears unannounced.

The surface of the OpenAPI schema: each operation (method and path) with its parameters,
the fields of its request body and the schema of each successful answer, and each schema's
fields. `idp/api/surface-v1.json` holds the recorded one; `compare` lists what the current
schema removed without a deprecation (`idp.api.deprecation`) or added without recording.
`python manage.py api_surface` prints the differences; `--write` records the current one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RECORDED = Path(__file__).with_name("surface-v1.json")
METHODS = ("get", "post", "put", "patch", "delete")


def current_schema() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _ref_name(schema: dict[str, Any]) -> str:
    ref = schema.get("$ref", "")
    if ref:
        return str(ref.rsplit("/", 1)[-1])
    items = schema.get("items")
    if isinstance(items, dict) and items.get("$ref"):
        return "[" + _ref_name(items) + "]"
    return str(schema.get("type", "object"))


def surface(schema: dict[str, Any]) -> dict[str, Any]:
    """Operations and schemas, reduced to the names a client relies on."""
    operations: dict[str, Any] = {}
    for path, item in sorted(schema.get("paths", {}).items()):
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            body = operation.get("requestBody", {}).get("content", {})
            request = body.get("application/json", {}).get("schema", {})
            operations[f"{method.upper()} {path}"] = {
                "deprecated": bool(operation.get("deprecated")),
                "parameters": sorted(
                    f"{p.get('in')}:{p.get('name')}" for p in operation.get("parameters", [])
                ),
                "request": _ref_name(request) if request else "",
                "answers": {
                    str(code): _ref_name(
                        answer.get("content", {}).get("application/json", {}).get("schema", {})
                    )
                    for code, answer in sorted(operation.get("responses", {}).items())
                    if str(code).startswith("2")
                },
            }
    schemas: dict[str, Any] = {}
    for name, component in sorted(schema.get("components", {}).get("schemas", {}).items()):
        properties = component.get("properties", {})
        schemas[name] = {
            "fields": sorted(properties),
            "deprecated": sorted(k for k, v in properties.items() if v.get("deprecated")),
        }
    return {"operations": operations, "schemas": schemas}


def recorded() -> dict[str, Any]:
    return json.loads(RECORDED.read_text()) if RECORDED.exists() else {}


def write(current: dict[str, Any]) -> None:
    RECORDED.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")


def compare(old: dict[str, Any], new: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(removed without a deprecation, added or changed but not recorded)."""
    removed: list[str] = []
    unrecorded: list[str] = []
    old_ops, new_ops = old.get("operations", {}), new.get("operations", {})
    for name, was in old_ops.items():
        now = new_ops.get(name)
        if now is None:
            if not was["deprecated"]:
                removed.append(f"operation {name} is gone but was never deprecated")
            continue
        for parameter in sorted(set(was["parameters"]) - set(now["parameters"])):
            removed.append(f"{name}: parameter {parameter} is gone")
        if now["request"] != was["request"] and was["request"]:
            removed.append(f"{name}: request body {was['request']} became {now['request']}")
        for code, answer in was["answers"].items():
            if now["answers"].get(code) != answer:
                removed.append(f"{name}: answer {code} {answer} became {now['answers'].get(code)}")
    old_schemas, new_schemas = old.get("schemas", {}), new.get("schemas", {})
    for name, was in old_schemas.items():
        now = new_schemas.get(name)
        if now is None:
            removed.append(f"schema {name} is gone")
            continue
        for field in sorted(set(was["fields"]) - set(now["fields"])):
            if field not in was["deprecated"]:
                removed.append(f"schema {name}: field {field} is gone but was never deprecated")
    unrecorded = [f"operation {n}" for n, now in new_ops.items() if old_ops.get(n) != now]
    unrecorded += [f"schema {n}" for n, now in new_schemas.items() if old_schemas.get(n) != now]
    return removed, unrecorded
