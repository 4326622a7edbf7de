"""Celery tasks: deliver a pipeline to GitHub, and poll runs of quiet pipelines."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from . import runs, services
from .github_client import GitHubError

log = logging.getLogger(__name__)
MAX_RETRIES = 5
MAX_RATE_LIMIT_WAIT = 3600


def backoff(retries: int) -> int:
    """Seconds before retry n: 10, 20, 40, 80, 160."""
    return int(10 * (2**retries))


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True)
def deliver_pipeline(self: Any, pipeline_id: int) -> str:
    """Deliver one pipeline; transient GitHub errors retry with backoff (rate limits: reset)."""
    final = self.request.retries >= self.max_retries
    try:
        pipeline = services.deliver(pipeline_id, final_attempt=final)
    except GitHubError as exc:
        if exc.transient and not final:
            wait = exc.retry_after if exc.retry_after else backoff(self.request.retries)
            if wait <= MAX_RATE_LIMIT_WAIT:
                log.info("pipeline %s: %s; retrying in %ss", pipeline_id, exc.message, wait)
                raise self.retry(countdown=wait, exc=exc) from exc
            services.deliver_gave_up(pipeline_id, exc)
        return f"failed: {exc.message}"
    return pipeline.pr_url


# Both limits: a time limit alone would inherit the run-sized soft limit (Celery refuses it).
@shared_task(time_limit=600, soft_time_limit=570)
def sync_pipeline_runs() -> dict[str, int]:
    """Poll GitHub for the runs of delivered pipelines whose webhooks went quiet."""
    return runs.sync_quiet_pipelines()
