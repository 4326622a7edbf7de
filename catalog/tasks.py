"""Celery tasks of the catalog: docs builds (a DocsBuild row is the truth, the message a nudge)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import DatabaseError

log = logging.getLogger(__name__)

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
def build_docs(entity_id: int) -> str:
    """Run the entity's queued docs build; a duplicate message finds nothing queued."""
    from .services.docs import run_queued

    try:
        build = run_queued(entity_id)
    except DatabaseError as exc:
        # A queued build is re-sent by the sweeper, a building one failed by it.
        log.warning("docs of entity %s: database unavailable: %s", entity_id, exc)
        return "failed"
    return build.status if build is not None else "nothing queued"


@shared_task(
    name="catalog.sweep_docs_builds", ignore_result=True, time_limit=120, soft_time_limit=110
)
def sweep_docs_builds() -> int:
    """Re-send docs builds stuck in `queued`; fail the ones whose worker was lost."""
    from .services.docs import sweep_docs_builds as sweep

    return sweep()


@shared_task(name="catalog.score_services", time_limit=900, soft_time_limit=870)
def score_services() -> int:
    """Score every active service for today (one stored result per service per day)."""
    from .services.scorecards import score_all

    return score_all()


@shared_task(name="catalog.scan_location", time_limit=900, soft_time_limit=870, ignore_result=True)
def scan_location(location_id: int) -> str:
    """Scan one registered location (a push webhook or the API asked for it)."""
    from .models import Location
    from .services.discovery import scan_location as scan

    location = Location.objects.filter(pk=location_id, enabled=True).first()
    if location is None:
        return "no such enabled location"
    return "ok" if scan(location).as_json()["ok"] else "errors"


@shared_task(name="catalog.scan_locations", time_limit=3600, soft_time_limit=3540)
def scan_locations() -> int:
    """Scan every enabled location (the schedule: every IDP_CATALOG_SCAN_MINUTES)."""
    from .services.discovery import scan_all

    return len(scan_all())


@shared_task(
    name="catalog.sync_template_source",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=960,
    soft_time_limit=900,
    ignore_result=True,
)
def sync_template_source(source_id: int) -> str:
    """Run the template source's queued sync; a duplicate message finds nothing queued."""
    from .services.sources import run_queued

    try:
        result = run_queued(source_id)
    except DatabaseError as exc:
        # A queued sync is re-sent by the sweeper, a syncing one failed by it.
        log.warning("sync of template source %s: database unavailable: %s", source_id, exc)
        return "failed"
    if result is None:
        return "nothing queued"
    return "ok" if result.as_json()["ok"] else "errors"


@shared_task(
    name="catalog.sweep_template_sources", ignore_result=True, time_limit=120, soft_time_limit=110
)
def sweep_template_sources() -> dict[str, int]:
    """Queue due syncs (every IDP_TEMPLATE_SOURCE_SYNC_MINUTES), re-send lost nudges and
    fail syncs whose worker was lost."""
    from .services.sources import sweep_sources

    return sweep_sources()
