"""The numbers behind `GET /api/v1/status/`, `idp status` and the Prometheus collector.

Run numbers are scoped like every team-owned list: a user sees their teams' runs only.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.utils import timezone

from idp.conf import setting

logger = logging.getLogger(__name__)

DEFAULT_QUEUE = "celery"


def run_model() -> Any:
    """provisioning.models.Run when the provisioning app is installed, else None."""
    if not apps.is_installed("provisioning"):
        return None
    try:
        return apps.get_model("provisioning", "Run")
    except LookupError:
        return None


def queue_depth() -> int | None:
    """Messages waiting in the default queue: Redis LLEN when the broker is Redis, else None."""
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return None
    import redis

    queue = getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", DEFAULT_QUEUE)
    timeout = setting("IDP_READINESS_TIMEOUT")
    try:
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            return int(client.llen(queue))
        finally:
            client.close()
    except redis.RedisError as exc:
        logger.warning("queue depth unavailable: %s", exc.__class__.__name__)
        return None


def worker_count() -> int:
    """Workers with a heartbeat within IDP_WORKER_HEARTBEAT_STALE_SECONDS (no ping)."""
    from .heartbeats import live_workers

    return len(live_workers())


def run_numbers(user: Any, now: Any = None) -> dict[str, Any]:
    """Runs of `user`'s teams (a platform admin's: all) running and queued now, failed and
    succeeded in the last hour, and the last successful one."""
    Run = run_model()
    if Run is None:
        return {"runs": None, "last_successful_run": None}
    now = now or timezone.now()
    since = now - timedelta(hours=1)
    visible = Run.objects.for_user(user, "view_team")
    runs = {
        "running": visible.filter(status="running").count(),
        "queued": visible.filter(status="queued").count(),
        "failed_last_hour": visible.filter(status="failed", finished_at__gte=since).count(),
        "succeeded_last_hour": visible.filter(status="succeeded", finished_at__gte=since).count(),
    }
    last = (
        visible.filter(status="succeeded", finished_at__isnull=False)
        .order_by("-finished_at")
        .values("id", "kind", "resource_id", "finished_at")
        .first()
    )
    return {"runs": runs, "last_successful_run": last}


def platform_status(user: Any) -> dict[str, Any]:
    """Worker and queue health (the whole platform's) and the runs `user` may see."""
    return {
        "workers": worker_count(),
        "queue_depth": queue_depth(),
        **run_numbers(user),
        "generated_at": timezone.now(),
    }
