"""The attribute-level changes of a plan, as reviewers read them (a pure function).

`plan_changes(plan, redact)` turns `terraform show -json` into what is stored on the plan
run (`Run.plan_changes`) and shown by the portal, the API and the CLI:

    {"resources": [
        {"address": "terraform_data.echo", "action": "update",      # create, update,
         "action_reason": "", "replace_paths": ["triggers_replace"],  # delete, replace
         "after_unknown": ["output"],          # paths known only after the apply
         "changed": ["input", "output"],       # the attributes a reviewer must read
         "unchanged": 2,                       # how many "show all" adds
         "attributes": [                       # every top-level attribute, sorted
             {"name": "input", "before": "hello", "after": "changed", "changed": true,
              "unknown": false, "sensitive": false, "forces_replacement": false,
              "nested": [...]},                # an object's or list's changed leaves
             …]}],                             # (nested.py): path, before, after…
     "outputs": [{"name": "echo", "action": "update", "before": "hello", "after": null,
                  "after_unknown": true, "sensitive": false}]}

Values are never stored as Terraform printed them: sensitive ones (Terraform's
`before_sensitive`/`after_sensitive` marks, at any depth, and sensitive outputs) become
the mask, every string passes through the run's redactor (a secret parameter copied into
an attribute Terraform does not mark is still caught), nested unknown values read
"(known after apply)", and long values are cut with a marker so a plan cannot bloat the row.
"""

from __future__ import annotations

import json
from typing import Any

from .nested import (
    SENSITIVE,
    attribute_leaves,
    group_by_change,
    leaf_sides,
    leaf_text,
    stored_leaves,
    value_text,
)
from .values import (
    ACTIONS_SKIPPED,
    NESTED_LIMIT,
    RESOURCE_LIMIT,
    STRING_LIMIT,
    TOTAL_LIMIT,
    UNKNOWN,
    VALUE_LIMIT,
    Redact,
    action_of,
    clean,
    mark_leaves,
    mark_paths,
    part,
    path_text,
    scrub,
)

__all__ = [
    "NESTED_LIMIT",
    "SENSITIVE",
    "STRING_LIMIT",
    "UNKNOWN",
    "VALUE_LIMIT",
    "Redact",
    "action_of",
    "api_changes",
    "api_resource",
    "group_by_change",
    "leaf_changes",
    "leaf_sides",
    "leaf_text",
    "output_change",
    "path_text",
    "plan_changes",
    "resource_change",
    "stored_leaves",
    "value_text",
]


def _attributes(
    change: dict[str, Any], action: str, replace: list[list[Any]], redact: Redact | None
) -> list[dict[str, Any]]:
    replace_roots = {str(p[0]) for p in replace}
    before = change.get("before") if isinstance(change.get("before"), dict) else None
    after = change.get("after") if isinstance(change.get("after"), dict) else None
    unknown = change.get("after_unknown")
    names = set(before or {}) | set(after or {})
    if isinstance(unknown, dict):
        names |= {k for k, v in unknown.items() if mark_leaves(v)}
    rows = []
    for name in sorted(names):
        old = (before or {}).get(name)
        new = (after or {}).get(name)
        new_unknown = part(unknown, name)
        wholly_unknown = new_unknown is True
        if action == "create":
            changed = new is not None or bool(mark_leaves(new_unknown))
        elif action == "delete":
            changed = old is not None
        else:
            changed = old != new or bool(mark_leaves(new_unknown))
        before_marks = part(change.get("before_sensitive"), name)
        after_marks = part(change.get("after_sensitive"), name)
        shown_after = None
        if after is not None and not wholly_unknown:
            shown_after = clean(new, after_marks, new_unknown, redact)
        shown_before = None if before is None else clean(old, before_marks, None, redact)
        row = {
            "name": scrub(name, redact),
            "before": shown_before,
            "after": shown_after,
            "changed": changed,
            "unknown": wholly_unknown,
            "sensitive": before_marks is True or after_marks is True,
            "forces_replacement": name in replace_roots,
        }
        structured = isinstance(old, dict | list) or isinstance(new, dict | list)
        updated = changed and action not in ("create", "delete")
        if updated and structured and not (row["sensitive"] or wholly_unknown):
            # An object's or a list's change reads as its changed leaves:
            # `color: null → "yellow"`, `[1]: 80 → 8080`.
            marks = (before_marks, after_marks, new_unknown)
            leaves = attribute_leaves(name, old, new, marks, replace, redact)
            if leaves and [leaf["path"] for leaf in leaves] != [""]:
                row["nested"] = leaves
        rows.append(row)
    return rows


def resource_change(item: dict[str, Any], redact: Redact | None = None) -> dict[str, Any] | None:
    """One entry of `resource_changes`, as stored; None for no-op and read."""
    change = item.get("change") or {}
    action = action_of(change.get("actions"))
    if action in ACTIONS_SKIPPED:
        return None
    replace = [p for p in change.get("replace_paths") or [] if isinstance(p, list) and p]
    rows = _attributes(change, action, replace, redact)
    address = str(item.get("address", ""))
    if item.get("deposed"):
        address += f" (deposed object {item['deposed']})"
    entry: dict[str, Any] = {
        "address": scrub(address, redact),
        "action": action,
        "action_reason": str(item.get("action_reason") or ""),
        "replace_paths": [scrub(path_text(p), redact) for p in replace],
        "after_unknown": [scrub(p, redact) for p in mark_paths(change.get("after_unknown"), [])],
        "changed": [row["name"] for row in rows if row["changed"]],
        "unchanged": sum(1 for row in rows if not row["changed"]),
        "attributes": rows,
    }
    if item.get("previous_address"):
        entry["previous_address"] = scrub(str(item["previous_address"]), redact)
    return entry


def output_change(
    name: str, change: dict[str, Any], redact: Redact | None = None
) -> dict[str, Any] | None:
    """One entry of `output_changes`, as stored; None when the output does not change."""
    action = action_of(change.get("actions"))
    if action in ACTIONS_SKIPPED:
        return None
    before_marks, after_marks = change.get("before_sensitive"), change.get("after_sensitive")
    unknown = change.get("after_unknown")
    return {
        "name": scrub(name, redact),
        "action": action,
        "before": clean(change.get("before"), before_marks, None, redact),
        "after": None
        if unknown is True
        else clean(change.get("after"), after_marks, unknown, redact),
        "after_unknown": unknown is True,
        # Wholly sensitive (`sensitive = true`); a sensitive part is masked in place.
        "sensitive": before_marks is True or after_marks is True,
    }


def leaf_changes(item: dict[str, Any], redact: Redact | None = None) -> list[dict[str, Any]]:
    """The nested diff of one entry of a plan's `resource_changes` (its `change`: before,
    after, after_unknown, before_sensitive, after_sensitive, replace_paths): the leaves that
    change, full paths (`input.color`, `ports[1]`), unchanged objects folded, sensitive
    leaves masked, unknown ones flagged; [] for a destroy (it goes whole) and a no-op."""
    entry = resource_change(item, redact)
    return [] if entry is None else stored_leaves(entry)


def _size(data: Any) -> int:
    return len(json.dumps(data, default=str))


def plan_changes(plan: dict[str, Any], redact: Redact | None = None) -> dict[str, Any]:
    """The plan's resource and output changes for reviewers (see the module docstring)."""
    resources = [
        entry
        for item in plan.get("resource_changes") or []
        if isinstance(item, dict) and (entry := resource_change(item, redact)) is not None
    ]
    outputs = [
        entry
        for name, change in sorted((plan.get("output_changes") or {}).items())
        if isinstance(change, dict) and (entry := output_change(name, change, redact)) is not None
    ]
    result: dict[str, Any] = {"resources": resources[:RESOURCE_LIMIT], "outputs": outputs}
    if len(resources) > RESOURCE_LIMIT:
        result["omitted_resources"] = len(resources) - RESOURCE_LIMIT
    if _size(result) > TOTAL_LIMIT:
        # Too big to keep whole: what changes matters, the rest was only context.
        for entry in result["resources"]:
            for row in entry["attributes"]:
                if not row["changed"]:
                    row.update(before=None, after=None, omitted=True)
        result["unchanged_omitted"] = True
    while result["resources"] and _size(result) > TOTAL_LIMIT:
        result["resources"].pop()
        result["omitted_resources"] = result.get("omitted_resources", 0) + 1
    return result


def api_resource(entry: dict[str, Any]) -> dict[str, Any]:
    """A stored resource change in the API's shape: `before`/`after` maps of attributes
    (null for a create's before and a delete's after), `after_unknown` paths."""
    rows = entry.get("attributes") or []
    action = entry.get("action")
    return {
        "address": entry.get("address", ""),
        "action": action,
        "action_reason": entry.get("action_reason", ""),
        "replace_paths": list(entry.get("replace_paths") or []),
        "changed": list(entry.get("changed") or []),
        "before": None if action == "create" else {r["name"]: r["before"] for r in rows},
        "after": None
        if action == "delete"
        else {r["name"]: r["after"] for r in rows if not r.get("unknown")},
        "after_unknown": list(entry.get("after_unknown") or []),
        "sensitive": sorted(r["name"] for r in rows if r.get("sensitive")),
        "nested_changes": {r["name"]: r["nested"] for r in rows if r.get("nested")},
        # Every changed leaf with its full path (`input.color`), as the portal shows them.
        "leaves": stored_leaves(entry),
    }


def api_changes(stored: dict[str, Any] | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(changes, output_changes) of a stored `plan_changes`, in the API's shape."""
    stored = stored or {}
    resources = [api_resource(e) for e in stored.get("resources") or [] if isinstance(e, dict)]
    outputs = [dict(o) for o in stored.get("outputs") or [] if isinstance(o, dict)]
    return resources, outputs
