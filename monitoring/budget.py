"""Monitoring's hooks into provisioning, registered in `MonitoringConfig.ready()`:

- the budget gate: asked by the approval policy for every plan (new, change, upgrade,
  re-plan, retry) with that plan's own inputs; over budget, a platform admin must approve;
- the lifecycle listener: alarms, cached usage numbers, run logs shipped to CloudWatch Logs
  and the service's CloudWatch dashboard follow a resource's status.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def estimate_monthly_cost(version: Any, parameters: dict[str, Any]) -> Decimal | None:
    """Estimated monthly USD cost of a resource from the template's cost hints."""
    from catalog.services.costs import estimate_monthly_cost as estimate

    return estimate(version, parameters)


def budget_gate(
    resource: Any, version: Any, parameters: dict[str, Any], *, destroy: bool = False
) -> Any:
    """The plan's estimate against the team's budget: over it, a platform admin decides
    (unless the environment's approval rule says otherwise: `over_budget_platform_admin`).
    Destroying lowers spend: it is never gated."""
    from provisioning.approval_policy import GateResult

    from .services.budgets import needs_admin_approval

    if destroy:
        return GateResult(estimated_monthly_cost=None)

    estimate = estimate_monthly_cost(version, parameters)
    environment = getattr(resource, "environment", None)
    admin_over_budget = environment is None or environment.over_budget_platform_admin
    over = needs_admin_approval(resource.team, estimate)
    if admin_over_budget and over:
        return GateResult(
            platform_admin=True,
            reason=f"its estimate (${estimate}/month) takes {resource.team.slug} over its budget",
            estimated_monthly_cost=estimate,
            over_budget=True,
        )
    # Over budget without a platform admin still rules out auto-approval.
    return GateResult(estimated_monthly_cost=estimate, over_budget=over)


def budget_context(team: Any) -> dict[str, Any]:
    """The team's monthly budget and spend so far, as policies see them (`input.idp`)."""
    from .models import Budget
    from .services.costs import month_to_date

    budget = Budget.objects.filter(team=team).first()
    return {
        "budget": float(budget.monthly_amount) if budget is not None else None,
        "month_to_date": float(month_to_date(team)),
    }


def on_resource_moved(moved: Any) -> None:
    """After a resource changed status (on commit): stale usage numbers, and alarms that
    follow a resource's life (created when provisioned, removed when destroyed)."""
    from provisioning.choices import ResourceStatus
    from provisioning.models import Resource

    from .services import alarms
    from .services.cache import bump

    resource = (
        Resource.objects.select_related("team", "template", "template_version", "environment")
        .filter(pk=moved.resource_id)
        .first()
    )
    if resource is None:
        return
    bump(resource.team.slug)
    came = moved.after == ResourceStatus.PROVISIONED and moved.before != ResourceStatus.PROVISIONED
    if came:
        alarms.on_resource_provisioned(resource)
    elif moved.after == ResourceStatus.DESTROYED:
        alarms.on_resource_destroyed(resource)
    _nudge_cloudwatch(resource, changed=came or moved.after == ResourceStatus.DESTROYED)


def _nudge_cloudwatch(resource: Any, *, changed: bool) -> None:
    """Queue the CloudWatch work a move calls for: ship the logs of the runs that just ended,
    and put the service's dashboard again when a resource came or went (workers do both)."""
    from idp.conf import setting

    from . import tasks

    if setting("IDP_CLOUDWATCH_RUN_LOGS"):
        tasks.ship_run_logs.delay()
    if changed and resource.service_id and setting("IDP_CLOUDWATCH_DASHBOARDS"):
        tasks.sync_service_dashboard.delay(resource.pk)


def register() -> None:
    from provisioning import lifecycle
    from provisioning.approval_policy import register_plan_gate

    register_plan_gate(budget_gate)
    lifecycle.on_resource_moved(on_resource_moved)
