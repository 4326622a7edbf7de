"""Whether an output is sensitive: one answer for the engine, drift, dependencies and pages.

An output is sensitive when Terraform marks it so (`sensitive = true` in the module, seen in
`output -json`, a plan's `planned_values` or a template version's declared outputs), or
when the resource recorded it as sensitive at its last apply: once secret, a value stays
secret even if a later module or plan forgets the mark.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .models import Resource


def is_sensitive_output(
    name: str, entry: Mapping[str, Any] | None = None, resource: Resource | None = None
) -> bool:
    """`entry`: Terraform's description of the output (`{"value": ..., "sensitive": ...}`,
    or a declared output); `resource`: whose record of sensitive outputs counts too."""
    if entry is not None and bool(entry.get("sensitive")):
        return True
    return resource is not None and name in (resource.sensitive_output_names or [])


def split_outputs(
    outputs: Mapping[str, Mapping[str, Any]], resource: Resource | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """`output -json` split into (plain values, sensitive values)."""
    plain: dict[str, Any] = {}
    secret: dict[str, Any] = {}
    for name, entry in outputs.items():
        target = secret if is_sensitive_output(name, entry, resource) else plain
        target[name] = entry.get("value")
    return plain, secret
