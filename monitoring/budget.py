"""Monitoring's hooks into provisioning, registered in `MonitoringConfig.ready()`:

- the plan pricer: every plan's cost priced from the price catalog (`Run.cost`);
- the budget gate: asked by the approval policy for every plan (new, change, upgrade,
  re-plan, retry) with that plan's own inputs and cost; over budget, a platform admin must
  approve;
- the lifecycle listener: alarms, cached usage numbers, run logs shipped to CloudWatch Logs
  and the service's CloudWatch dashboard follow a resource's status.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

logger = logging.getLogger(__name__)


def estimate_monthly_cost(version: Any, parameters: dict[str, Any]) -> Decimal | None:
    """Estimated monthly USD cost of a resource from the template's cost hints."""
    from catalog.services.costs import estimate_monthly_cost as estimate

    return estimate(version, parameters)


def plan_cost(run: Any, resource: Any, plan: dict[str, Any]) -> dict[str, Any] | None:
    """The plan's cost from the price catalog of the environment's region, with the
    template's `plan_extras` hints as a line and, when `IDP_COST_CORRECTION` is on, the
    template's correction learned from actuals beside it. None when it cannot be priced (no
    catalog): the template's cost hints stand in, as before a plan."""
    from catalog.services.costs import plan_extras
    from idp.conf import setting

    from .services import accuracy, pricing

    try:
        version = run.template_version
        extras = [] if run.is_destroy else plan_extras(version, dict(run.parameters or {}))
        cost = pricing.price_plan(plan, resource.environment.aws_region, extras=extras)
        if cost is not None and setting("IDP_COST_CORRECTION"):
            accuracy.apply_correction(cost, resource.template.slug)
        return cost
    except Exception:  # the cost informs; a pricing bug must not fail the plan
        logger.warning("pricing the plan of run %s failed", getattr(run, "pk", None), exc_info=True)
        return None


def request_cost(version: Any, parameters: dict[str, Any]) -> dict[str, Any] | None:
    """A request priced before it has a plan: the module's resources with the parameters
    (schema defaults for the rest) put where they are plain variables, priced from the
    default region's catalog, with the template's `plan_extras`."""
    from catalog.services.costs import plan_extras
    from idp.conf import setting

    from .services import pricing

    try:
        props = ((version.parameters_schema or {}).get("properties")) or {}
        values = {
            k: p["default"] for k, p in props.items() if isinstance(p, dict) and "default" in p
        }
        values.update({k: v for k, v in (parameters or {}).items() if v is not None})
        plan = pricing.request_plan(dict(version.files or {}), values)
        if not plan["resource_changes"]:
            return None
        extras = plan_extras(version, parameters)
        return pricing.price_plan(plan, setting("IDP_PRICING_REGION"), extras=extras)
    except Exception:  # the estimate informs; the form works without it
        logger.warning("pricing a request of %s failed", version, exc_info=True)
        return None


def plan_estimate(cost: dict[str, Any] | None, hinted: Decimal | None = None) -> Decimal | None:
    """The monthly figure a plan stands for: its priced cost after the change (the corrected
    one when the correction is on). A plan with resources the catalog cannot price is not
    trusted alone: the template's cost hints stand in when they say more."""
    if not cost:
        return hinted
    priced = Decimal(str(cost.get("corrected_monthly_after") or cost["monthly_after"]))
    if cost.get("unpriced") and hinted is not None:
        return max(priced, hinted)
    return priced


def budget_gate(
    resource: Any,
    version: Any,
    parameters: dict[str, Any],
    *,
    destroy: bool = False,
    cost: dict[str, Any] | None = None,
) -> Any:
    """The plan's estimate (its priced `cost` when there is one, else the template's cost
    hints) against the team's budget: over it, a platform admin decides (unless the
    environment's approval rule says otherwise: `over_budget_platform_admin`).
    Destroying lowers spend: it is never gated."""
    from provisioning.approval_policy import GateResult

    from .services.budgets import needs_admin_approval

    if destroy:
        return GateResult(estimated_monthly_cost=None)

    estimate = plan_estimate(cost, estimate_monthly_cost(version, parameters))
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
    from catalog.services.costs import register_request_pricer
    from provisioning import lifecycle
    from provisioning.approval_policy import register_plan_gate
    from provisioning.plan_checks import register_plan_pricer

    register_request_pricer(request_cost)
    register_plan_pricer(plan_cost)
    register_plan_gate(budget_gate)
    lifecycle.on_resource_moved(on_resource_moved)
