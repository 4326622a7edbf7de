"""Sync the policies when a Celery worker starts, so plans are judged by the files it holds."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import worker_ready

logger = logging.getLogger(__name__)


@worker_ready.connect
def sync_policies_on_worker_start(sender: Any = None, **kwargs: Any) -> None:
    from .services import sync_policies

    try:
        report = sync_policies()
    except Exception:  # the worker still serves; plans meet the policies last loaded
        logger.exception("policy sync at worker start failed")
        return
    for message in report.failed.values():
        logger.error("policy does not load (plans in its scope fail it): %s", message)
    logger.info(
        "policy sync at worker start: %d loaded, %d failed, %d plans re-evaluated",
        len(report.loaded),
        len(report.failed),
        report.reevaluated,
    )
