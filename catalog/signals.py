"""Sync the templates when a Celery worker starts, so workers plan from the files they hold."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import worker_ready

logger = logging.getLogger(__name__)


@worker_ready.connect
def sync_templates_on_worker_start(sender: Any = None, **kwargs: Any) -> None:
    from .services import sync_templates

    try:
        report = sync_templates()
    except Exception:  # a broken catalog must not stop the worker from serving other tasks
        logger.exception("template sync at worker start failed")
        return
    logger.info(
        "template sync at worker start: %d loaded, %d failed",
        len(report.loaded),
        len(report.failed),
    )
