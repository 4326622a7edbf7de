"""Celery tasks: deliver a pipeline to GitHub and carry out a deployment (jobs, idp/jobs),
and poll runs of quiet pipelines."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from idp.github_client import GitHubError
from idp.jobs.models import JobStatus

from . import runs, services
from .deployments import job as deployment_job

log = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def deliver_pipeline(self: Any, pipeline_id: int) -> str:
    """Run the pipeline's queued delivery (a job, idp/jobs): transient GitHub errors are
    retried by its policy with backoff (rate limits: at their reset); others fail it."""
    try:
        done = services.run_delivery(pipeline_id, task=self)
    except GitHubError as exc:
        return f"failed: {exc.message}"
    if done is None:
        return "nothing queued"
    if done.status != JobStatus.SUCCEEDED:
        return f"failed: {done.error}"
    return str(done.result.pr_url)


# Both limits: a time limit alone would inherit the run-sized soft limit (Celery refuses it).
@shared_task(time_limit=600, soft_time_limit=570)
def sync_pipeline_runs() -> dict[str, int]:
    """Poll GitHub for the runs of delivered pipelines whose webhooks went quiet."""
    return runs.sync_quiet_pipelines()


@shared_task(
    bind=True, acks_late=True, reject_on_worker_lost=True, time_limit=1800, soft_time_limit=1740
)
def run_deployment(self: Any, deployment_id: int) -> str:
    """Carry out a queued deployment (a job, idp/jobs): AWS connection errors are retried by
    its policy; any other error fails it with the reason in its log."""
    done = deployment_job.run_queued(deployment_id, task=self)
    if done is None:
        return "nothing queued"
    return done.status if not done.error else f"{done.status}: {done.error}"
