"""Celery tasks: periodic collection of metrics and costs, then budget checks."""

from __future__ import annotations

from celery import shared_task

from .services import alarms, budgets, cloudwatch_logs, costs, dashboards_aws, metrics


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


@shared_task(name="monitoring.ship_run_logs", time_limit=600, soft_time_limit=570)
def ship_run_logs() -> dict[str, int]:
    """The sweeper (beat, and nudged when a resource moves): copy the logs of ended runs to
    CloudWatch Logs, from each run's bookmark on (off unless IDP_CLOUDWATCH_RUN_LOGS)."""
    return cloudwatch_logs.ship_pending_logs()


@shared_task(name="monitoring.sync_service_dashboard", time_limit=300, soft_time_limit=270)
def sync_service_dashboard(resource_id: int) -> dict[str, object]:
    """Put the CloudWatch dashboard of the resource's service and environment again."""
    row = dashboards_aws.sync_for_resource(resource_id)
    if row is None:
        return {"dashboard": None}
    return {"dashboard": row.name, "widgets": row.widgets, "error": row.error}
