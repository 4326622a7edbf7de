"""Checks every plan passes before anyone may approve it: an extension point.

Another app registers a check in its `ready()` (the policies app registers its Rego
evaluation). A check gets the plan run, its resource, the plan as `show -json` and the
estimated monthly cost, and answers a JSON-able summary with at least `blocking` (how many
failures hold the plan) and `digest` (the hash an approval is bound to). Provisioning keeps
the answer with the plan (`Run.policy_summary`) and never knows what a policy is.

A plan pricer (monitoring registers its price catalog) gets the plan run, its resource
and the plan, and answers the plan's cost (`Run.cost`): monthly before, after, delta, a
line per resource and what it could not price.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

PlanCheck = Callable[[Any, Any, dict[str, Any], Decimal | None], dict[str, Any]]

_checks: list[PlanCheck] = []


def register_plan_check(check: PlanCheck) -> None:
    if check not in _checks:
        _checks.append(check)


def check_plan(
    run: Any, resource: Any, plan: dict[str, Any], estimate: Decimal | None
) -> dict[str, Any]:
    """Every registered check's answer merged: results concatenated, counts added, one
    digest over all. With no checks, an empty passing summary."""
    merged: dict[str, Any] = {
        "passed": 0,
        "warnings": 0,
        "failures": 0,
        "blocking": 0,
        "overridable": False,
        "results": [],
    }
    overridable = []
    for check in _checks:
        answer = check(run, resource, plan, estimate)
        for key in ("passed", "warnings", "failures", "blocking"):
            merged[key] += int(answer.get(key, 0))
        merged["results"] += answer.get("results", [])
        if answer.get("blocking"):
            overridable.append(bool(answer.get("overridable")))
    merged["overridable"] = bool(overridable) and all(overridable)
    merged["digest"] = summary_digest(merged["results"])
    return merged


PlanPricer = Callable[[Any, Any, dict[str, Any]], dict[str, Any] | None]

_pricers: list[PlanPricer] = []


def register_plan_pricer(pricer: PlanPricer) -> None:
    if pricer not in _pricers:
        _pricers.append(pricer)


def price_plan(run: Any, resource: Any, plan: dict[str, Any]) -> dict[str, Any] | None:
    """The plan's cost from the first pricer that answers; None when none is registered or
    none could price it (then the template's cost hints are all there is)."""
    for pricer in _pricers:
        cost = pricer(run, resource, plan)
        if cost is not None:
            return cost
    return None


def summary_digest(results: list[dict[str, Any]]) -> str:
    """The hash binding an approval to the results it was made on."""
    text = json.dumps(results, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def is_blocked(summary: dict[str, Any] | None) -> bool:
    """Whether the plan's checks hold it (and no override was recorded)."""
    summary = summary or {}
    return bool(summary.get("blocking")) and not summary.get("override")
