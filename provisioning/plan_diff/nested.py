"""The nested diff: a resource change as the leaves that change, and plans grouped by them.

A leaf is one attribute path whose value changes, the way `terraform plan` prints an
object's change, and how a reviewer reads it:

    input.color: null → "yellow"          an object's key, at any depth
    ports[1]: 80 → 8080                   a list, by index
    password: (sensitive) → (sensitive)   Terraform's sensitive marks, masked
    output: "hello" → (known after apply)

Unchanged keys and nested objects are folded (not listed). `attribute_leaves` finds them
on the raw values of a plan (so a changed secret still counts) and keeps them cleaned;
`stored_leaves` reads them back from a stored resource change (`Run.plan_changes`), and
`group_by_change` puts plans whose leaves are identical in one group, replacements and
destroys first. Pure functions: every surface renders what they return.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from catalog.sensitivity import MASK

from .values import (
    NESTED_LIMIT,
    UNKNOWN,
    Redact,
    clean,
    mark_leaves,
    path_text,
    scrub,
)

SENSITIVE = "(sensitive)"
# Shown for a value known only after the apply whose old value differs between the
# resources of one group (the old value is context there; the change is the same).
DIFFERS = "(differs)"
HEADLINE_LEAVES = 3
DESTRUCTIVE = {"replace", "delete"}

Marks = tuple[Any, Any, Any]  # (before_sensitive, after_sensitive, after_unknown) parts


def _step(marks: Any, key: Any) -> Any:
    """The marks of one key or index (`true` for a whole value marks all of it)."""
    if marks is True:
        return True
    if isinstance(marks, dict):
        return marks.get(key)
    if isinstance(marks, list) and isinstance(key, int) and key < len(marks):
        return marks[key]
    return None


def _kind(before: Any, after: Any) -> type | None:
    """dict or list when both sides are that (or absent) and one is; else None (a leaf)."""
    for kind in (dict, list):
        absent_or_kind = isinstance(before, kind | None) and isinstance(after, kind | None)
        if absent_or_kind and (isinstance(before, kind) or isinstance(after, kind)):
            return kind
    return None


def _walk(before: Any, after: Any, marks: Marks, at: list[Any], out: list[Any]) -> None:
    """Append (path, before, after, marks) of every changed leaf under `at`."""
    sensitive_before, sensitive_after, unknown = marks
    if unknown is True or sensitive_before is True or sensitive_after is True:
        if unknown is True or before != after:
            out.append((at, before, after, marks))
        return
    kind = _kind(before, after)
    found = len(out)
    if kind is dict:
        old, new = before or {}, after or {}
        keys = set(old) | set(new)
        if isinstance(unknown, dict):
            keys |= {k for k, v in unknown.items() if mark_leaves(v)}
        for key in sorted(keys, key=str):
            parts = (_step(sensitive_before, key), _step(sensitive_after, key), _step(unknown, key))
            _walk(old.get(key), new.get(key), parts, [*at, key], out)
    elif kind is list:
        old_items, new_items = before or [], after or []
        size = max(len(old_items), len(new_items), len(unknown) if isinstance(unknown, list) else 0)
        for i in range(size):
            parts = (_step(sensitive_before, i), _step(sensitive_after, i), _step(unknown, i))
            old_item = old_items[i] if i < len(old_items) else None
            new_item = new_items[i] if i < len(new_items) else None
            _walk(old_item, new_item, parts, [*at, i], out)
    if len(out) == found and (before != after or mark_leaves(unknown)):
        out.append((at, before, after, marks))  # a scalar, or `{}` ↔ null


def _forces(path: list[Any], replace_paths: list[list[Any]]) -> bool:
    """A leaf forces replacement when a replace path is at or above it (or below it)."""
    return any(p[: len(path)] == path or path[: len(p)] == p for p in replace_paths)


def attribute_leaves(
    name: str,
    before: Any,
    after: Any,
    marks: Marks,
    replace_paths: list[list[Any]],
    redact: Redact | None = None,
) -> list[dict[str, Any]]:
    """The changed leaves of one top-level attribute, paths relative to it (`color`,
    `[1]`, `rules[0].id`; "" for the attribute itself), at most NESTED_LIMIT, cleaned."""
    found: list[Any] = []
    _walk(before, after, marks, [], found)
    leaves = []
    for at, old, new, (sensitive_before, sensitive_after, unknown) in found[:NESTED_LIMIT]:
        wholly_unknown = unknown is True
        if sensitive_before is True:
            shown_before = None if old is None else MASK
        else:
            shown_before = clean(old, sensitive_before, None, redact)
        if wholly_unknown:
            shown_after = None
        elif sensitive_after is True:
            shown_after = None if new is None else MASK
        else:
            shown_after = clean(new, sensitive_after, unknown, redact)
        leaves.append(
            {
                "path": scrub(path_text(at), redact),
                "before": shown_before,
                "after": shown_after,
                "unknown": wholly_unknown,
                "sensitive": sensitive_before is True or sensitive_after is True,
                "forces_replacement": _forces([name, *at], replace_paths),
            }
        )
    return leaves


def _join(name: str, path: str) -> str:
    if not path:
        return name
    return f"{name}{path}" if path.startswith("[") else f"{name}.{path}"


def stored_leaves(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The changed leaves of a stored resource change, full paths (`input.color`). A
    destroy has none (the resource goes as a whole); a create lists what it sets."""
    action = entry.get("action")
    if action == "delete":
        return []
    leaves = []
    for row in entry.get("attributes") or []:
        if not isinstance(row, dict) or not row.get("changed"):
            continue
        name = str(row.get("name", ""))
        forces = bool(row.get("forces_replacement"))
        if row.get("nested"):
            for leaf in row["nested"]:
                leaves.append(
                    {
                        "path": _join(name, str(leaf.get("path", ""))),
                        "attribute": name,
                        "before": leaf.get("before"),
                        "after": None if leaf.get("unknown") else leaf.get("after"),
                        "unknown": bool(leaf.get("unknown")),
                        "sensitive": bool(leaf.get("sensitive")),
                        "forces_replacement": bool(leaf.get("forces_replacement", forces)),
                    }
                )
            continue
        leaves.append(
            {
                "path": name,
                "attribute": name,
                "before": None if action == "create" else row.get("before"),
                "after": None if row.get("unknown") else row.get("after"),
                "unknown": bool(row.get("unknown")),
                "sensitive": bool(row.get("sensitive")),
                "forces_replacement": forces,
            }
        )
    return leaves


def value_text(value: Any, sensitive: bool = False) -> str:
    """One side of a leaf as JSON (`null`, `"yellow"`, `80`); a secret as `(sensitive)`."""
    if value is None:
        return "null"
    if sensitive:
        return SENSITIVE
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def leaf_sides(leaf: dict[str, Any]) -> tuple[str, str]:
    """A leaf's before and after as text: JSON, `(sensitive)`, `(known after apply)`."""
    sensitive = bool(leaf.get("sensitive"))
    before = DIFFERS if leaf.get("differs") else value_text(leaf.get("before"), sensitive)
    after = UNKNOWN if leaf.get("unknown") else value_text(leaf.get("after"), sensitive)
    return before, after


def leaf_text(leaf: dict[str, Any], arrow: str = "→") -> str:
    """`input.color: null → "yellow"`."""
    before, after = leaf_sides(leaf)
    return f"{leaf.get('path')}: {before} {arrow} {after}"


def _output_leaf(output: dict[str, Any]) -> dict[str, Any]:
    unknown = bool(output.get("after_unknown"))
    return {
        "path": f"output {output.get('name')}",
        "before": output.get("before"),
        "after": None if unknown else output.get("after"),
        "unknown": unknown,
        "sensitive": bool(output.get("sensitive")),
        "forces_replacement": False,
    }


def _shape(changes: dict[str, Any]) -> list[dict[str, Any]]:
    """A stored plan as what its group shows: each resource change with its leaves."""
    shape = []
    for entry in changes.get("resources") or []:
        if isinstance(entry, dict):
            shape.append(
                {
                    "address": str(entry.get("address", "")),
                    "action": str(entry.get("action", "")),
                    "leaves": stored_leaves(entry),
                }
            )
    outputs = [_output_leaf(o) for o in changes.get("outputs") or [] if isinstance(o, dict)]
    if outputs:
        shape.append({"address": "outputs", "action": "output", "leaves": outputs})
    return shape


def _key(shape: list[dict[str, Any]]) -> tuple[Any, ...]:
    """What makes two plans' changes identical: addresses, actions and leaves (the old value
    of a leaf known only after the apply is context, not the change)."""
    return tuple(
        (
            item["address"],
            item["action"],
            tuple(
                (
                    leaf["path"],
                    None if leaf["unknown"] else value_text(leaf["before"], leaf["sensitive"]),
                    leaf_text({**leaf, "before": None}),
                )
                for leaf in item["leaves"]
            ),
        )
        for item in shape
    )


def _headline(shape: list[dict[str, Any]]) -> str:
    parts: list[str] = []
    for item in shape:
        if item["action"] == "delete":
            parts.append(f"{item['address']} destroyed")
        elif item["action"] == "replace" and not item["leaves"]:
            parts.append(f"{item['address']} replaced")
        parts += [leaf["text"] for leaf in item["leaves"]]
    if not parts:
        return "no changes"
    more = len(parts) - HEADLINE_LEAVES
    shown = "; ".join(parts[:HEADLINE_LEAVES])
    return f"{shown}; and {more} more" if more > 0 else shown


def group_by_change(members: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Plans whose leaf changes are identical, as one group each: replacements and destroys
    first, then the largest. `members`: `{"resource": {"id", "name"}, "environment": str,
    "changes": a stored plan_changes}`. Each group: `count`, `title` ("3 resources"),
    `headline` (its first leaves as text), `replace`, `destroy`, `destructive`, `changes`
    (per resource change: address, action, leaves with `text`), `resources` (id, name,
    environment) and `environments`."""
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for member in members:
        shape = _shape(member.get("changes") or {})
        key = _key(shape)
        resource = {**member["resource"], "environment": member.get("environment", "")}
        group = groups.get(key)
        if group is None:
            groups[key] = {"changes": shape, "resources": [resource]}
            continue
        group["resources"].append(resource)
        for seen, item in zip(group["changes"], shape, strict=True):
            for first, leaf in zip(seen["leaves"], item["leaves"], strict=True):
                if first.get("differs") or first["before"] != leaf["before"]:
                    # Not one resource's old value shown as if it were every one's.
                    first.update(differs=True, before=None)
    result = []
    for group in groups.values():
        actions = {item["action"] for item in group["changes"]}
        for item in group["changes"]:
            for leaf in item["leaves"]:
                leaf["text"] = leaf_text(leaf)
        count = len(group["resources"])
        result.append(
            {
                "count": count,
                "title": f"{count} resource{'s' if count != 1 else ''}",
                "headline": _headline(group["changes"]),
                "replace": "replace" in actions,
                "destroy": "delete" in actions,
                "destructive": bool(actions & DESTRUCTIVE),
                "changes": group["changes"],
                "resources": group["resources"],
                "environments": sorted({str(r["environment"]) for r in group["resources"]}),
            }
        )
    result.sort(key=lambda g: (not g["destructive"], -g["count"], g["headline"]))
    return result
