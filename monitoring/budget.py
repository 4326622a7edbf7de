"""Budget checks other apps call. Contract used by provisioning.services.request_resource."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def estimate_monthly_cost(version: Any, parameters: dict[str, Any]) -> Decimal | None:
    """Estimated monthly USD cost of a resource from the template's cost hints."""
    from .services.costs import estimate_monthly_cost as estimate

    return estimate(version, parameters)


def request_needs_admin_approval(
    team: Any, version: Any, parameters: dict[str, Any]
) -> tuple[bool, Decimal | None]:
    """(True, estimate) when the estimate would push the team past its monthly budget."""
    from .services.budgets import needs_admin_approval

    estimate = estimate_monthly_cost(version, parameters)
    return needs_admin_approval(team, estimate), estimate
