"""CloudWatch Logs: every run's log (already redacted by the run's log writer) copied to a
log group per environment and team, and the platform's own logs through watchtower.

A run's log is shipped from its stored `RunLogChunk` rows, so provisioning knows nothing of
CloudWatch: the lifecycle listener nudges a shipping task when a resource moves, and the
beat sweeper catches every run the nudge missed (drift runs, a worker that died). A
`LogShipment` row per run is the bookmark: chunks from `next_seq` on are still to send.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from idp.conf import setting
from provisioning.choices import RUN_TERMINAL

from ..log_handler import retention_days
from ..models import LogShipment
from . import aws

if TYPE_CHECKING:
    from provisioning.models import Resource, Run

logger = logging.getLogger(__name__)

# PutLogEvents limits: 10,000 events and 1 MiB per batch (each event counts 26 bytes more),
# 256 KiB per event.
MAX_BATCH_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD = 26
MAX_EVENT_BYTES = 256 * 1024 - EVENT_OVERHEAD
SWEEP_BATCH = 50


def log_group_name(resource: Resource) -> str:
    """The run log group of the resource's environment and team."""
    prefix = setting("IDP_CLOUDWATCH_RUN_LOG_PREFIX").rstrip("/")
    return f"{prefix}/{resource.environment.slug}/{resource.team.slug}"


def log_stream_name(run: Run) -> str:
    """One stream per run, named after its resource so a console search by name finds it."""
    return f"{run.resource.name}/run-{run.pk}-{run.kind}"


def ensure_log_group(client: Any, group: str) -> None:
    """Create the log group (if new) and set its retention."""
    with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
        aws.call(client.create_log_group, logGroupName=group, tags={"idp:managed": "true"})
    aws.call(client.put_retention_policy, logGroupName=group, retentionInDays=retention_days())


def _ensure_stream(client: Any, group: str, stream: str) -> None:
    try:
        aws.call(client.create_log_stream, logGroupName=group, logStreamName=stream)
    except client.exceptions.ResourceNotFoundException:
        ensure_log_group(client, group)
        aws.call(client.create_log_stream, logGroupName=group, logStreamName=stream)
    except client.exceptions.ResourceAlreadyExistsException:
        pass


def _events(chunks: list[Any]) -> list[dict[str, Any]]:
    """A CloudWatch event per log line, stamped with its chunk's time (in order)."""
    events = []
    for chunk in chunks:
        stamp = int(chunk.created_at.timestamp() * 1000)
        for line in chunk.text.splitlines():
            if not line.strip():
                continue  # CloudWatch refuses empty messages
            data = line.encode("utf-8", "replace")
            if len(data) > MAX_EVENT_BYTES:
                line = data[:MAX_EVENT_BYTES].decode("utf-8", "ignore")
            events.append({"timestamp": stamp, "message": line})
    return events


def _batches(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    batches: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for event in events:
        event_size = len(event["message"].encode("utf-8")) + EVENT_OVERHEAD
        if current and (len(current) >= MAX_BATCH_EVENTS or size + event_size > MAX_BATCH_BYTES):
            batches.append(current)
            current, size = [], 0
        current.append(event)
        size += event_size
    if current:
        batches.append(current)
    return batches


def ship_run_log(run_id: int) -> int:
    """Send the run's unsent log chunks to CloudWatch Logs; returns the events sent.

    The shipment row is locked while sending, so the nudge and the sweeper never send the
    same chunk twice; a failure is recorded and the next sweep tries again from the bookmark.
    """
    from provisioning.models import Run, RunLogChunk

    run = (
        Run.objects.select_related("resource__team", "resource__environment")
        .filter(pk=run_id)
        .first()
    )
    if run is None:
        return 0
    LogShipment.objects.get_or_create(
        run=run,
        defaults={
            "log_group": log_group_name(run.resource),
            "log_stream": log_stream_name(run),
        },
    )
    with transaction.atomic():
        shipment = LogShipment.objects.select_for_update().get(run=run)
        if shipment.complete:
            return 0
        # Read the status before the chunks: a run that ended has all its chunks stored.
        finished = Run.objects.filter(pk=run.pk, status__in=RUN_TERMINAL).exists()
        chunks = list(
            RunLogChunk.objects.filter(run=run, seq__gte=shipment.next_seq).order_by("seq")
        )
        events = _events(chunks)
        try:
            if events:
                client = aws.client("logs", run.resource.environment)
                _ensure_stream(client, shipment.log_group, shipment.log_stream)
                for batch in _batches(events):
                    aws.call(
                        client.put_log_events,
                        logGroupName=shipment.log_group,
                        logStreamName=shipment.log_stream,
                        logEvents=batch,
                    )
        except Exception as exc:  # noqa: BLE001 - recorded; the sweeper tries again
            logger.warning("shipping the log of run %s failed: %s", run.pk, aws.error_text(exc))
            shipment.error = aws.error_text(exc)
            shipment.save(update_fields=["error", "updated_at"])
            return 0
        if chunks:
            shipment.next_seq = chunks[-1].seq + 1
        shipment.events += len(events)
        shipment.complete = finished
        shipment.error = ""
        shipment.save(update_fields=["next_seq", "events", "complete", "error", "updated_at"])
    return len(events)


def runs_to_ship(limit: int = SWEEP_BATCH) -> list[int]:
    """Ended runs (of the last week) with a log whose shipment is not complete."""
    from provisioning.models import Run

    since = timezone.now() - timedelta(days=7)
    return list(
        Run.objects.filter(status__in=RUN_TERMINAL, finished_at__gte=since, log_size__gt=0)
        .exclude(log_shipment__complete=True)
        .order_by("finished_at")
        .values_list("pk", flat=True)[:limit]
    )


def ship_pending_logs(limit: int = SWEEP_BATCH) -> dict[str, int]:
    """The sweeper: ship every ended run's log not yet (completely) in CloudWatch Logs."""
    if not setting("IDP_CLOUDWATCH_RUN_LOGS"):
        return {"runs": 0, "events": 0}
    runs = runs_to_ship(limit)
    events = sum(ship_run_log(run_id) for run_id in runs)
    return {"runs": len(runs), "events": events}


def resource_log_events(
    resource: Resource, *, run_id: int | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    """The CloudWatch events of the resource's shipped runs (newest run first, lines in
    order): what `idp resources logs ID --source cloudwatch` prints."""
    shipments = LogShipment.objects.filter(run__resource=resource).select_related("run")
    if run_id is not None:
        shipments = shipments.filter(run_id=run_id)
    shipments = shipments.order_by("-run_id")[:5]
    found: list[dict[str, Any]] = []
    if not shipments:
        return found
    client = aws.client("logs", resource.environment)
    for shipment in shipments:
        page = aws.call(
            client.get_log_events,
            logGroupName=shipment.log_group,
            logStreamName=shipment.log_stream,
            startFromHead=True,
            limit=min(limit, 10_000),
        )
        for event in page.get("events", []):
            found.append(
                {
                    "run": shipment.run_id,
                    "log_group": shipment.log_group,
                    "log_stream": shipment.log_stream,
                    "timestamp": datetime.fromtimestamp(
                        event["timestamp"] / 1000, tz=timezone.get_current_timezone()
                    ),
                    "message": event["message"],
                }
            )
            if len(found) >= limit:
                return found
    return found


def console_url(shipment: LogShipment, region: str = "") -> str:
    """The AWS console page of the run's log stream (CloudWatch's double-escaped fragment)."""
    region = region or settings.AWS_REGION

    def esc(text: str) -> str:
        return quote(quote(text, safe=""), safe="").replace("%", "$")

    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logsV2:log-groups/log-group/{esc(shipment.log_group)}"
        f"/log-events/{esc(shipment.log_stream)}"
    )
