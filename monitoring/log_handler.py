"""The CloudWatch Logs handler of the platform's own logs (web, worker, beat), built by
`LOGGING` in `config/settings/base.py` only when IDP_CLOUDWATCH_LOG_GROUP is set.

Logging is configured before Django's apps load, so this module imports no models (nor
`monitoring.services`, whose package imports them).
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from idp.conf import setting

# Retention CloudWatch accepts (days); a configured value is rounded up to the next one.
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653)


def retention_days() -> int:
    wanted = max(1, setting("IDP_CLOUDWATCH_LOG_RETENTION_DAYS"))
    return next((d for d in RETENTION_DAYS if d >= wanted), RETENTION_DAYS[-1])


def cloudwatch_handler(
    *, log_group: str = "", stream: str = "", client: Any = None, send_interval: int = 10
) -> logging.Handler:
    """A watchtower handler sending batched JSON lines (with request and run ids) to the log
    group; each host and process writes its own stream."""
    import boto3
    import watchtower
    from django.conf import settings

    if client is None:
        client = boto3.client(
            "logs", region_name=settings.AWS_REGION, endpoint_url=settings.AWS_ENDPOINT_URL
        )
    return watchtower.CloudWatchLogHandler(
        log_group_name=log_group or setting("IDP_CLOUDWATCH_LOG_GROUP"),
        log_stream_name=stream or f"{socket.gethostname()}/{{program_name}}/{{process_id}}",
        boto3_client=client,
        send_interval=send_interval,
        log_group_retention_days=retention_days(),
        create_log_group=True,
    )


def connect_celery() -> None:
    """A Celery worker or beat empties the root logger's handlers when it starts (its
    `worker_hijack_root_logger`): put the CloudWatch handler back after it did."""
    from celery.signals import after_setup_logger

    after_setup_logger.connect(_after_celery_logging, weak=False, dispatch_uid="idp-cloudwatch")


def _after_celery_logging(logger: logging.Logger | None = None, **_: Any) -> None:
    import watchtower
    from django.conf import settings
    from pythonjsonlogger.json import JsonFormatter

    from idp.logging import ContextFilter

    if logger is None or not setting("IDP_CLOUDWATCH_LOG_GROUP"):
        return
    if any(isinstance(h, watchtower.CloudWatchLogHandler) for h in logger.handlers):
        return
    handler = cloudwatch_handler()
    handler.addFilter(ContextFilter())
    # The same JSON lines as the console's json format (LOGGING in the settings).
    handler.setFormatter(JsonFormatter(settings.LOGGING["formatters"]["json"]["fmt"]))
    logger.addHandler(handler)
