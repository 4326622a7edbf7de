"""Celery tasks of the software catalog. Docs builds and scans are jobs (idp/jobs): the row is
the truth, the message a nudge; the jobs' housekeeping sweeps and reaps them. The task names
(`catalog.…`) are kept: the beat schedule and queued messages refer to them."""

from __future__ import annotations

from celery import shared_task

# The service stops git and MkDocs itself (GIT_TIMEOUT + BUILD_TIMEOUT); this is the last resort.
DOCS_TIME_LIMIT = 600


@shared_task(
    name="catalog.build_docs",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=DOCS_TIME_LIMIT + 60,
    soft_time_limit=DOCS_TIME_LIMIT,
    ignore_result=True,
)
def build_docs(build_id: int) -> str:
    """Run a queued docs build (a job, idp/jobs); a duplicate message finds it not queued."""
    from .services.docs import run_queued

    build = run_queued(build_id)
    return build.status if build is not None else "nothing queued"


@shared_task(name="catalog.score_services", time_limit=900, soft_time_limit=870)
def score_services() -> int:
    """Score every active service for today (one stored result per service per day)."""
    from .services.scorecards import score_all

    return score_all()


@shared_task(
    name="catalog.scan_location",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=900,
    soft_time_limit=870,
    ignore_result=True,
)
def scan_location(location_id: int) -> str:
    """Run the location's queued scan (a job, idp/jobs); a duplicate finds nothing queued."""
    from .services.discovery import run_queued

    result = run_queued(location_id)
    if result is None:
        return "nothing queued"
    return "ok" if result.as_json()["ok"] else "errors"


@shared_task(name="catalog.scan_locations", time_limit=300, soft_time_limit=270)
def scan_locations() -> int:
    """Queue a scan of every enabled location (the schedule: every IDP_CATALOG_SCAN_MINUTES)."""
    from .services.discovery import request_scans

    return request_scans()
