"""A template's cost estimate: what a resource of a version would cost a month, from the
template's cost hints alone (the request form shows it before a plan exists; a plan is
priced from monitoring's price catalog, with the hints' `plan_extras` added)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")


def decimal_or_none(value: Any) -> Decimal | None:
    """A finite Decimal of a number or numeric string; None for anything else."""
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def estimate_monthly_cost(version: Any, parameters: dict[str, Any]) -> Decimal | None:
    """Estimated monthly USD of a resource: fixed part plus per-unit parts of the parameters.

    A parameter that is missing falls back to its schema default; unknown keys are ignored.
    None when the template gives no cost hints. A plan is priced from the price catalog
    instead (monitoring); these hints price a request before it has a plan.
    """
    hints = getattr(version, "cost_hints", None) or {}
    if not isinstance(hints, dict) or not hints:
        return None
    return _hint_total(hints, version, parameters)


RequestPricer = Callable[[Any, dict[str, Any]], "dict[str, Any] | None"]
_request_pricers: list[RequestPricer] = []


def register_request_pricer(pricer: RequestPricer) -> None:
    """Register a pricer of requests (monitoring's price catalog, in its `ready()`)."""
    if pricer not in _request_pricers:
        _request_pricers.append(pricer)


def request_cost(version: Any, parameters: dict[str, Any]) -> dict[str, Any] | None:
    """What a request of this version would cost before it has a plan, priced from the
    module's resources with these parameters (a plan's cost shape); None when no pricer is
    registered or it cannot price the module."""
    for pricer in _request_pricers:
        cost = pricer(version, parameters)
        if cost is not None:
            return cost
    return None


def plan_extras(version: Any, parameters: dict[str, Any]) -> list[dict[str, Any]]:
    """The module-specific extras a template adds to its plans' cost (`cost_hints.plan_extras`:
    the same `fixed_monthly_usd` and `per_unit` shape, and a `label`), as one cost line;
    nothing when the template has none."""
    hints = getattr(version, "cost_hints", None) or {}
    extras = hints.get("plan_extras") if isinstance(hints, dict) else None
    if not isinstance(extras, dict) or not extras:
        return []
    label = str(extras.get("label") or "module-specific extras (template.yaml)")
    return [
        {
            "address": "(template extras)",
            "type": "cost_hints",
            "monthly": str(_hint_total(extras, version, parameters)),
            "basis": label,
        }
    ]


def _hint_total(hints: dict[str, Any], version: Any, parameters: dict[str, Any]) -> Decimal:
    total = decimal_or_none(hints.get("fixed_monthly_usd", 0)) or Decimal("0")
    schema_props = ((getattr(version, "parameters_schema", None) or {}).get("properties")) or {}
    for part in hints.get("per_unit") or []:
        if not isinstance(part, dict):
            continue
        name = str(part.get("parameter") or "")
        rate = decimal_or_none(part.get("usd_per_unit"))
        raw = (parameters or {}).get(name)
        if raw is None:
            raw = (schema_props.get(name) or {}).get("default")
        units = decimal_or_none(raw)
        if rate is not None and units is not None:
            total += rate * units
    return total.quantize(CENT)
