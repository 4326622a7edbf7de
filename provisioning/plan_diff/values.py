"""The values of a plan diff, made safe to keep and show: sensitive parts masked, unknown
parts spelled "(known after apply)", strings redacted and cut, paths read like Terraform."""

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


def masked(value: Any, marks: Any) -> Any:
    """The value with every part Terraform marks sensitive replaced by the mask."""
    if value is None:
        return None
    if marks is True:
        return MASK
    if isinstance(marks, dict) and isinstance(value, dict):
        return {k: masked(v, marks.get(k)) for k, v in value.items()}
    if isinstance(marks, list) and isinstance(value, list):
        return [masked(v, marks[i] if i < len(marks) else None) for i, v in enumerate(value)]
    return value


def marked_unknown(value: Any, marks: Any) -> Any:
    """The value with every part known only after the apply spelled "(known after apply)"."""
    if marks is True:
        return UNKNOWN
    if isinstance(marks, dict) and any(mark_leaves(marks)):
        base = value if isinstance(value, dict) else {}
        keys = list(base) + [k for k in marks if k not in base]
        return {k: marked_unknown(base.get(k), marks.get(k)) for k in keys}
    if isinstance(marks, list) and any(mark_leaves(marks)):
        items: list[Any] = value if isinstance(value, list) else []
        size = max(len(items), len(marks))
        return [
            marked_unknown(
                items[i] if i < len(items) else None, marks[i] if i < len(marks) else None
            )
            for i in range(size)
        ]
    return value


def mark_leaves(marks: Any) -> list[bool]:
    """The true leaves of a Terraform mark structure (`true`, or dicts/lists of them)."""
    if marks is True:
        return [True]
    if isinstance(marks, dict):
        return [leaf for item in marks.values() for leaf in mark_leaves(item)]
    if isinstance(marks, list):
        return [leaf for item in marks for leaf in mark_leaves(item)]
    return []


def mark_paths(marks: Any, prefix: list[Any]) -> list[str]:
    """The paths of a mark structure's true leaves (`["id", "input.tags[1]"]`)."""
    if marks is True:
        return [path_text(prefix)]
    if isinstance(marks, dict):
        return [p for k in sorted(marks) for p in mark_paths(marks[k], [*prefix, k])]
    if isinstance(marks, list):
        return [p for i, item in enumerate(marks) for p in mark_paths(item, [*prefix, i])]
    return []


def cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text):,} characters, truncated]"


def scrub(value: Any, redact: Redact | None) -> Any:
    """Every string (and number) through the redactor, then long strings cut: redaction
    first, so a cut can never leave the start of a secret behind."""
    if isinstance(value, str):
        return cut(redact(value) if redact else value, STRING_LIMIT)
    if isinstance(value, dict):
        return {scrub(str(k), redact): scrub(v, redact) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, redact) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool) and redact:
        return MASK if redact(str(value)) != str(value) else value
    return value


def bounded(value: Any) -> Any:
    """A structured value too big as a whole is kept as its cut JSON text."""
    if isinstance(value, dict | list):
        text = json.dumps(value, default=str)
        if len(text) > VALUE_LIMIT:
            return cut(text, VALUE_LIMIT)
    return value


def clean(value: Any, sensitive: Any, unknown: Any, redact: Redact | None) -> Any:
    return bounded(scrub(marked_unknown(masked(value, sensitive), unknown), redact))


def part(marks: Any, key: str) -> Any:
    """The marks of one top-level attribute (`true` for a whole object marks all)."""
    if marks is True:
        return True
    return marks.get(key) if isinstance(marks, dict) else None
