"""Sync the scorecard rules when a Celery worker starts, so workers score by the file they hold."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import worker_ready

logger = logging.getLogger(__name__)


@worker_ready.connect
def sync_scorecard_rules_on_worker_start(sender: Any = None, **kwargs: Any) -> None:
    from .services.scorecards import sync_rules

    try:
        result = sync_rules()
    except Exception:  # a broken rules file must not stop the worker either
        logger.exception("scorecard rule sync at worker start failed")
        return
    logger.info(
        "scorecard rule sync at worker start: %d created, %d updated",
        len(result.created),
        len(result.updated),
    )
