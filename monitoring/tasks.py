"""Celery tasks: periodic collection of metrics and costs, then budget checks."""

from __future__ import annotations

from celery import shared_task

from .services import alarms, budgets, costs, metrics


# Periodic tasks set both limits: a time limit alone would inherit the run-sized soft limit,
# which Celery refuses (soft above hard), and a hung collection must not hold a worker for hours.
@shared_task(name="monitoring.collect_metrics", time_limit=900, soft_time_limit=870)
def collect_metrics() -> dict[str, object]:
    """Read CloudWatch metrics of every provisioned resource and refresh alarm states."""
    collection = metrics.collect_metrics()
    changed = alarms.refresh_alarm_states()
    return {"status": collection.status, "stored": collection.stored, "alarms_changed": changed}


@shared_task(name="monitoring.collect_costs", time_limit=900, soft_time_limit=870)
def collect_costs() -> dict[str, object]:
    """Ingest Cost Explorer costs, then raise the budget alerts they cross."""
    collection = costs.collect_costs()
    raised = budgets.evaluate_budgets()
    return {"status": collection.status, "stored": collection.stored, "alerts": len(raised)}


@shared_task(
    name="monitoring.mirror_budget",
    autoretry_for=(Exception,),
    retry_backoff=30,
    max_retries=5,
)
def mirror_budget(budget_pk: int) -> bool | None:
    """Create or replace a team's budget in AWS Budgets; retried later while AWS fails."""
    result = budgets.mirror_budget(budget_pk)
    if result is False:
        raise RuntimeError("AWS Budgets did not accept the budget; see Budget.aws_sync_error")
    return result
