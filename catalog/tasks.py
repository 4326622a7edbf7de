"""Celery tasks of the template registry. Syncs of template sources are jobs (idp/jobs): the
row is the truth, the message a nudge; the jobs' housekeeping sweeps and reaps them."""

from __future__ import annotations

from typing import Any

from celery import shared_task


@shared_task(
    name="catalog.sync_template_source",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=960,
    soft_time_limit=900,
    ignore_result=True,
)
def sync_template_source(self: Any, source_id: int) -> str:
    """Run the template source's queued sync (a job, idp/jobs); a duplicate message finds
    nothing queued."""
    from .services.sources import run_queued

    result = run_queued(source_id, task=self)
    if result is None:
        return "nothing queued"
    _check_providers(source_id)
    return "ok" if result.as_json()["ok"] else "errors"


def _check_providers(source_id: int) -> None:
    """The source's versions, new ones included, checked against this worker's providers."""
    import logging

    from .models import TemplateVersion
    from .services.providers import check_versions

    try:
        check_versions(TemplateVersion.objects.filter(source_id=source_id))
    except Exception:  # noqa: BLE001 - the sync is done; a failed check only leaves it unknown
        logging.getLogger(__name__).warning("provider check after sync failed", exc_info=True)
