"""What a drift check found: the refreshed plan compared with the record (expected →
actual rows, masked, and a keyed fingerprint of the raw values). Facts only: what happens
next (the flag, news once per new drift, auto-reconcile) is `workflow.drift_checked`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.utils.crypto import salted_hmac

from .crypto import decrypt_json
from .models import Resource, Run
from .plan_diff import Redact, output_change, resource_change
from .sensitivity import is_sensitive_output

# At most this many expected → actual rows are kept on the resource (the count stays exact).
CHANGE_LIMIT = 200
GONE = "(deleted outside the platform)"
EXISTS = "(exists)"


# --- what a drift check found ----------------------------------------------------------


@dataclass
class Found:
    """A drift check's result: the rows shown to people and the fingerprint of the raw values."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    digest: str = ""

    @property
    def drifted(self) -> bool:
        return bool(self.resources or self.outputs)

    def details(self, run: Run) -> dict[str, Any]:
        if not self.drifted:
            return {}
        return {
            "run": run.pk,
            "resources": self.resources,
            "outputs": self.outputs,
            "changes": self.changes[:CHANGE_LIMIT],
            "change_count": len(self.changes),
        }


def _attribute_path(name: str, path: str) -> str:
    return f"{name}{path}" if path.startswith("[") else f"{name}.{path}"


def _resource_rows(item: dict[str, Any], redact: Redact) -> list[dict[str, Any]]:
    """Expected → actual rows of one `resource_drift` entry (sensitive values masked)."""
    entry = resource_change(item, redact)
    if entry is None:
        return []
    address = entry["address"]
    if entry["action"] == "delete":
        return [_row("resource", address, "", EXISTS, GONE, False)]
    rows = []
    for attr in entry["attributes"]:
        if not attr["changed"]:
            continue
        if attr.get("nested"):
            for inner in attr["nested"]:
                path = _attribute_path(attr["name"], str(inner["path"]))
                rows.append(
                    _row(
                        "resource",
                        address,
                        path,
                        inner["before"],
                        inner["after"],
                        inner["sensitive"],
                    )
                )
        else:
            rows.append(
                _row(
                    "resource",
                    address,
                    attr["name"],
                    attr["before"],
                    attr["after"],
                    attr["sensitive"],
                )
            )
    return rows


def _row(
    kind: str, address: str, attribute: str, expected: Any, actual: Any, sensitive: bool
) -> dict[str, Any]:
    return {
        "kind": kind,
        "address": address,
        "attribute": attribute,
        "expected": expected,
        "actual": actual,
        "sensitive": bool(sensitive),
    }


def found_drift(
    resource: Resource, plan: dict[str, Any], summary: dict[str, Any], redact: Redact
) -> Found:
    """What the refreshed plan says differs from the record: objects changed behind the
    platform's back (`resource_drift`, as recorded → as found) and outputs whose real value
    is not the recorded one (recorded → real)."""
    found = Found(resources=list(summary.get("drift") or []))
    raw: list[Any] = []
    for item in plan.get("resource_drift") or []:
        if not isinstance(item, dict):
            continue
        change = item.get("change") or {}
        raw.append([item.get("address"), change.get("before"), change.get("after")])
        found.changes += _resource_rows(item, redact)
    planned = (plan.get("planned_values", {}) or {}).get("outputs", {}) or {}
    known = {**resource.outputs, **decrypt_json(resource.sensitive_outputs)}
    for name in sorted(set(planned) | set(known)):
        now = planned.get(name)
        if now is not None and now.get("value") == known.get(name):
            continue
        actual = now.get("value") if now is not None else None
        hidden = is_sensitive_output(name, now, resource)
        shown = output_change(
            name,
            {
                "actions": ["update"],
                "before": known.get(name),
                "after": actual,
                "before_sensitive": hidden,
                "after_sensitive": hidden,
            },
            redact,
        )
        assert shown is not None
        found.outputs.append(name)
        raw.append([f"output.{name}", known.get(name), actual])
        found.changes.append(
            _row("output", f"output.{name}", "", shown["before"], shown["after"], hidden)
        )
    if found.drifted:
        # Keyed with the site's secret: the raw values (secrets among them) cannot be guessed
        # back from a stored fingerprint, and any change of a value makes a new one.
        text = json.dumps(raw, sort_keys=True, default=str)
        found.digest = salted_hmac("provisioning.drift", text, algorithm="sha256").hexdigest()
    return found
