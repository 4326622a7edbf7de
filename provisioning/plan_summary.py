"""Plan summaries: counts and addresses of a `terraform show -json` plan, and the plan
as people read it (pure functions: the engine writes them, every layer reads them)."""

from __future__ import annotations

from typing import Any


def _action(actions: list[str]) -> str:
    if actions in (["delete", "create"], ["create", "delete"]):
        return "replace"
    return actions[0] if len(actions) == 1 else "-".join(actions)


def _changed_keys(before: Any, after: Any) -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return [] if before == after else ["value"]


def summarize_plan(plan: dict[str, Any]) -> dict[str, Any]:
    """Counts and addresses of a `show -json` plan; no attribute values (they may be secret)."""
    counts = {"add": 0, "change": 0, "destroy": 0}
    resources = []
    for change in plan.get("resource_changes", []) or []:
        actions = change.get("change", {}).get("actions", []) or []
        action = _action(actions)
        if action in ("no-op", "read"):
            continue
        if "create" in actions:
            counts["add"] += 1
        if "delete" in actions:
            counts["destroy"] += 1
        if "update" in actions:
            counts["change"] += 1
        resources.append({"address": change.get("address", ""), "action": action})
    outputs = {
        name: _action(oc.get("actions", []) or ["no-op"])
        for name, oc in (plan.get("output_changes", {}) or {}).items()
    }
    drift = []
    for change in plan.get("resource_drift", []) or []:
        inner = change.get("change", {})
        drift.append(
            {
                "address": change.get("address", ""),
                "action": _action(inner.get("actions", []) or ["update"]),
                "attributes": _changed_keys(inner.get("before"), inner.get("after")),
            }
        )
    return {
        **counts,
        "resources": resources,
        "outputs": outputs,
        "drift": drift,
        "has_changes": bool(resources) or any(a != "no-op" for a in outputs.values()),
    }


def plan_text(summary: dict[str, Any]) -> str:
    """The plan rendered for people: one line per resource, then the counts."""
    marks = {"create": "+", "delete": "-", "update": "~", "replace": "-/+"}
    lines = [
        f"{marks.get(r['action'], '?')} {r['address']} ({r['action']})"
        for r in summary.get("resources", [])
    ]
    lines += [
        f"  output {name}: {action}"
        for name, action in summary.get("outputs", {}).items()
        if action != "no-op"
    ]
    lines.append(
        f"Plan: {summary['add']} to add, {summary['change']} to change, "
        f"{summary['destroy']} to destroy."
    )
    return "\n".join(lines)


def plan_counts(summary: dict[str, Any] | None) -> dict[str, int]:
    """add/change/destroy counts of a plan summary."""
    summary = summary or {}
    counts = {}
    for key in ("add", "change", "destroy"):
        value = summary.get(key, 0)
        counts[key] = len(value) if isinstance(value, list | tuple) else int(value or 0)
    return counts
