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
              "nested": [...]},                # an object's changed keys, when both
             …]}],                             # sides are objects: path, before, after
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
import re
from collections.abc import Callable
from typing import Any

from catalog.sensitivity import MASK

UNKNOWN = "(known after apply)"
# A string longer than this is cut; a whole attribute value (as JSON) longer than
# VALUE_LIMIT is kept as its cut JSON text. Both leave a visible marker.
STRING_LIMIT = 2000
VALUE_LIMIT = 10000
# At most this many resource changes are kept (the counts in the summary stay exact),
# and past TOTAL_LIMIT characters the values of unchanged attributes are dropped.
RESOURCE_LIMIT = 250
# At most this many changed leaves are listed inside one object attribute.
NESTED_LIMIT = 100
TOTAL_LIMIT = 1_000_000

ACTIONS_SKIPPED = {"no-op", "read"}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")

Redact = Callable[[str], str]


def action_of(actions: list[str] | None) -> str:
    """Terraform's action list as one word: create, update, delete, replace (or no-op…)."""
    actions = list(actions or ["no-op"])
    if actions in (["delete", "create"], ["create", "delete"]):
        return "replace"
    return actions[0] if len(actions) == 1 else "-".join(actions)


def path_text(path: list[Any]) -> str:
    """`["tags", "Name"]` → `tags.Name`; `["ingress", 0, "cidr"]` → `ingress[0].cidr`."""
    text = ""
    for step in path:
        if isinstance(step, int) and not isinstance(step, bool):
            text += f"[{step}]"
        elif isinstance(step, str) and _IDENTIFIER.match(step):
            text += f".{step}" if text else step
        else:
            text += f"[{json.dumps(step)}]"
    return text


def _masked(value: Any, marks: Any) -> Any:
    """The value with every part Terraform marks sensitive replaced by the mask."""
    if value is None:
        return None
    if marks is True:
        return MASK
    if isinstance(marks, dict) and isinstance(value, dict):
        return {k: _masked(v, marks.get(k)) for k, v in value.items()}
    if isinstance(marks, list) and isinstance(value, list):
        return [_masked(v, marks[i] if i < len(marks) else None) for i, v in enumerate(value)]
    return value


def _marked_unknown(value: Any, marks: Any) -> Any:
    """The value with every part known only after the apply spelled "(known after apply)"."""
    if marks is True:
        return UNKNOWN
    if isinstance(marks, dict) and any(_leaves(marks)):
        base = value if isinstance(value, dict) else {}
        keys = list(base) + [k for k in marks if k not in base]
        return {k: _marked_unknown(base.get(k), marks.get(k)) for k in keys}
    if isinstance(marks, list) and any(_leaves(marks)):
        items: list[Any] = value if isinstance(value, list) else []
        size = max(len(items), len(marks))
        return [
            _marked_unknown(
                items[i] if i < len(items) else None, marks[i] if i < len(marks) else None
            )
            for i in range(size)
        ]
    return value


def _leaves(marks: Any) -> list[bool]:
    """The true leaves of a Terraform mark structure (`true`, or dicts/lists of them)."""
    if marks is True:
        return [True]
    if isinstance(marks, dict):
        return [leaf for item in marks.values() for leaf in _leaves(item)]
    if isinstance(marks, list):
        return [leaf for item in marks for leaf in _leaves(item)]
    return []


def _paths(marks: Any, prefix: list[Any]) -> list[str]:
    """The paths of a mark structure's true leaves (`["id", "input.tags[1]"]`)."""
    if marks is True:
        return [path_text(prefix)]
    if isinstance(marks, dict):
        return [p for k in sorted(marks) for p in _paths(marks[k], [*prefix, k])]
    if isinstance(marks, list):
        return [p for i, item in enumerate(marks) for p in _paths(item, [*prefix, i])]
    return []


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text):,} characters, truncated]"


def _scrub(value: Any, redact: Redact | None) -> Any:
    """Every string (and number) through the redactor, then long strings cut: redaction
    first, so a cut can never leave the start of a secret behind."""
    if isinstance(value, str):
        return _cut(redact(value) if redact else value, STRING_LIMIT)
    if isinstance(value, dict):
        return {_scrub(str(k), redact): _scrub(v, redact) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, redact) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool) and redact:
        return MASK if redact(str(value)) != str(value) else value
    return value


def _bounded(value: Any) -> Any:
    """A structured value too big as a whole is kept as its cut JSON text."""
    if isinstance(value, dict | list):
        text = json.dumps(value, default=str)
        if len(text) > VALUE_LIMIT:
            return _cut(text, VALUE_LIMIT)
    return value


def _clean(value: Any, sensitive: Any, unknown: Any, redact: Redact | None) -> Any:
    return _bounded(_scrub(_marked_unknown(_masked(value, sensitive), unknown), redact))


def _nested(
    old: dict[str, Any], new: dict[str, Any], marks: tuple[Any, Any, Any], redact: Redact | None
) -> list[dict[str, Any]]:
    """The changed leaves inside two objects (`message` of `input`), as Terraform prints an
    object's change; found on the raw values (a changed secret counts), shown cleaned.
    `marks`: the objects' (before_sensitive, after_sensitive, after_unknown) parts."""
    changes: list[dict[str, Any]] = []

    def walk(
        old: dict[str, Any], new: dict[str, Any], marks: tuple[Any, Any, Any], at: list[Any]
    ) -> None:
        sensitive_before, sensitive_after, unknown = marks
        keys = set(old) | set(new)
        if isinstance(unknown, dict):
            keys |= {k for k, v in unknown.items() if _leaves(v)}
        for key in sorted(keys, key=str):
            parts = (_part(sensitive_before, key), _part(sensitive_after, key), _part(unknown, key))
            before, after = old.get(key), new.get(key)
            if before == after and not _leaves(parts[2]):
                continue
            if isinstance(before, dict) and isinstance(after, dict) and True not in parts:
                walk(before, after, parts, [*at, key])
                continue
            changes.append(
                {
                    "path": _scrub(path_text([*at, key]), redact),
                    "before": _clean(before, parts[0], None, redact),
                    "after": None
                    if parts[2] is True
                    else _clean(after, parts[1], parts[2], redact),
                    "unknown": parts[2] is True,
                    "sensitive": parts[0] is True or parts[1] is True,
                }
            )

    walk(old, new, marks, [])
    return changes[:NESTED_LIMIT]


def _part(marks: Any, key: str) -> Any:
    """The marks of one top-level attribute (`true` for a whole object marks all)."""
    if marks is True:
        return True
    return marks.get(key) if isinstance(marks, dict) else None


def _attributes(
    change: dict[str, Any], action: str, replace_roots: set[str], redact: Redact | None
) -> list[dict[str, Any]]:
    before = change.get("before") if isinstance(change.get("before"), dict) else None
    after = change.get("after") if isinstance(change.get("after"), dict) else None
    unknown = change.get("after_unknown")
    names = set(before or {}) | set(after or {})
    if isinstance(unknown, dict):
        names |= {k for k, v in unknown.items() if _leaves(v)}
    rows = []
    for name in sorted(names):
        old = (before or {}).get(name)
        new = (after or {}).get(name)
        new_unknown = _part(unknown, name)
        wholly_unknown = new_unknown is True
        if action == "create":
            changed = new is not None or bool(_leaves(new_unknown))
        elif action == "delete":
            changed = old is not None
        else:
            changed = old != new or bool(_leaves(new_unknown))
        before_marks = _part(change.get("before_sensitive"), name)
        after_marks = _part(change.get("after_sensitive"), name)
        shown_after = None
        if after is not None and not wholly_unknown:
            shown_after = _clean(new, after_marks, new_unknown, redact)
        shown_before = None if before is None else _clean(old, before_marks, None, redact)
        row = {
            "name": _scrub(name, redact),
            "before": shown_before,
            "after": shown_after,
            "changed": changed,
            "unknown": wholly_unknown,
            "sensitive": before_marks is True or after_marks is True,
            "forces_replacement": name in replace_roots,
        }
        if (
            changed
            and isinstance(old, dict)
            and isinstance(new, dict)
            and not (row["sensitive"] or wholly_unknown)
        ):
            # An object's change reads as its changed keys: `message: "hello" → "changed"`.
            row["nested"] = _nested(old, new, (before_marks, after_marks, new_unknown), redact)
        rows.append(row)
    return rows


def resource_change(item: dict[str, Any], redact: Redact | None = None) -> dict[str, Any] | None:
    """One entry of `resource_changes`, as stored; None for no-op and read."""
    change = item.get("change") or {}
    action = action_of(change.get("actions"))
    if action in ACTIONS_SKIPPED:
        return None
    replace = [p for p in change.get("replace_paths") or [] if isinstance(p, list) and p]
    roots = {str(p[0]) for p in replace}
    rows = _attributes(change, action, roots, redact)
    address = str(item.get("address", ""))
    if item.get("deposed"):
        address += f" (deposed object {item['deposed']})"
    entry: dict[str, Any] = {
        "address": _scrub(address, redact),
        "action": action,
        "action_reason": str(item.get("action_reason") or ""),
        "replace_paths": [_scrub(path_text(p), redact) for p in replace],
        "after_unknown": [_scrub(p, redact) for p in _paths(change.get("after_unknown"), [])],
        "changed": [row["name"] for row in rows if row["changed"]],
        "unchanged": sum(1 for row in rows if not row["changed"]),
        "attributes": rows,
    }
    if item.get("previous_address"):
        entry["previous_address"] = _scrub(str(item["previous_address"]), redact)
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
        "name": _scrub(name, redact),
        "action": action,
        "before": _clean(change.get("before"), before_marks, None, redact),
        "after": None
        if unknown is True
        else _clean(change.get("after"), after_marks, unknown, redact),
        "after_unknown": unknown is True,
        # Wholly sensitive (`sensitive = true`); a sensitive part is masked in place.
        "sensitive": before_marks is True or after_marks is True,
    }


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
    }


def api_changes(stored: dict[str, Any] | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(changes, output_changes) of a stored `plan_changes`, in the API's shape."""
    stored = stored or {}
    resources = [api_resource(e) for e in stored.get("resources") or [] if isinstance(e, dict)]
    outputs = [dict(o) for o in stored.get("outputs") or [] if isinstance(o, dict)]
    return resources, outputs
