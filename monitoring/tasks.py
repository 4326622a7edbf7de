"""Celery tasks: periodic collection of metrics and costs, then budget checks."""

from __future__ import annotations

from celery import shared_task

from idp.jobs.retry import RetryPolicy

from .services import accuracy, alarms, budgets, cloudwatch_logs, costs, dashboards_aws, metrics


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


@shared_task(name="monitoring.collect_accuracy", time_limit=900, soft_time_limit=870)
def collect_accuracy() -> dict[str, object]:
    """Check last month's estimates against Cost Explorer actuals (idempotent: a month
    already checked is checked again with the same figures)."""
    collection = accuracy.collect_accuracy()
    return {"status": collection.status, "stored": collection.stored}


@shared_task(name="monitoring.run_collection", time_limit=900, soft_time_limit=870)
def run_collection(collection_id: int) -> str:
    """A queued metrics or costs pass the jobs' sweeper sent (a job, idp/jobs)."""
    from .services.collections import run_queued

    collection = run_queued(collection_id)
    return collection.status if collection is not None else "nothing queued"


# The one retry policy (idp/jobs/retry.py) on the one transient error: AWS Budgets throttled,
# failing on its side or out of reach. A refused budget is recorded, not retried.
BUDGETS_RETRY = RetryPolicy(transient=(budgets.BudgetsUnavailable,), backoff=30)


@shared_task(name="monitoring.mirror_budget", **BUDGETS_RETRY.celery_options())
def mirror_budget(budget_pk: int) -> bool | None:
    """Create or replace a team's budget in AWS Budgets; retried later while AWS is down."""
    return budgets.mirror_budget(budget_pk, raise_transient=True)


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
