"""Sync the templates when a Celery worker starts, so workers plan from the files they hold,
then record which versions need a provider this worker cannot install offline."""

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


@worker_ready.connect
def check_providers_on_worker_start(sender: Any = None, **kwargs: Any) -> None:
    """Connected after the sync, so the versions it loaded are checked too."""
    from .services.providers import check_versions

    try:
        checked = check_versions()
    except Exception:  # a failed check must not stop the worker from serving other tasks
        logger.exception("provider check at worker start failed")
        return
    logger.info("provider check at worker start: %d template versions", checked)
