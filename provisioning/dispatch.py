"""Dispatching runs: queue them on commit, one lock per resource, the next run when it frees.

The database is the source of truth: a run is a row in `queued`; the Celery message is
only a nudge. A lost message is re-sent by the sweeper, a duplicate one finds the run no
longer queued and does nothing. Queueing is not Terraform: the workflow and the actions
queue runs here, and the engine takes them (`provisioning.engine.claim`).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from idp.conf import setting

from . import lifecycle
from .causes import Cause
from .choices import ResourceStatus, RunKind, RunStatus
from .models import Resource, ResourceLock, Run

log = logging.getLogger(__name__)

EXECUTE_RUN = "provisioning.tasks.execute_run"


def send(run_id: int) -> None:
    """Send the Celery message for a run now; a broker outage is logged, the sweeper retries."""

    # The task by its path, as the job framework sends its kinds: the surfaces sit above this.
    execute_run = import_string(EXECUTE_RUN)
    # IDP_RUN_QUEUE routes Terraform runs to dedicated workers (`celery worker -Q …`).
    queue = setting("IDP_RUN_QUEUE") or None
    try:
        if queue:
            execute_run.apply_async((run_id,), queue=queue)
        else:
            execute_run.apply_async((run_id,))
    except Exception:  # noqa: BLE001 - any broker error: the run stays queued in the database
        log.warning(
            "could not send run %s to the broker; the sweeper will retry", run_id, exc_info=True
        )


def enqueue(run: Run) -> None:
    """Send the run to a worker once the current transaction commits."""
    run_id = run.pk
    transaction.on_commit(lambda: send(run_id))


def new_run(
    resource: Resource,
    kind: str,
    *,
    actor: Any,
    version: Any = None,
    parameters: dict[str, Any] | None = None,
    sensitive: str | None = None,
    is_destroy: bool = False,
    plan_run: Run | None = None,
    refresh_only: bool = False,
    recovers: Run | None = None,
) -> Run:
    """Create a queued run on the resource and queue it (inside the caller's transaction).

    A run carries its own inputs: the non-sensitive parameters and the encrypted sensitive
    ones (the resource's current ones unless given), so a proposal never touches the
    resource before it is applied. `actor` is the person acting or a `Cause` (who caused a
    run the platform starts); nothing else is taken, so four eyes never loses an author."""
    cause = Cause.of(actor)
    run = Run.objects.create(
        resource=resource,
        kind=kind,
        status=lifecycle.first_run_status(),
        template_version=version or resource.template_version,
        parameters=dict(resource.parameters if parameters is None else parameters),
        sensitive_parameters=resource.sensitive_parameters if sensitive is None else sensitive,
        is_destroy=is_destroy,
        plan_run=plan_run,
        refresh_only=refresh_only,
        recovers=recovers,
        **cause.fields(),
    )
    enqueue(run)
    return run


def running_status(run: Run) -> ResourceStatus:
    """The resource status while this (non-drift) run is queued or works on it."""
    if run.is_destroy or run.kind == RunKind.DESTROY:
        return ResourceStatus.DESTROYING
    return ResourceStatus.PLANNING if run.kind == RunKind.PLAN else ResourceStatus.APPLYING


def release(resource_id: int, run_id: int) -> None:
    """Free the resource's lock (if this run holds it) and queue the next waiting run."""
    ResourceLock.objects.filter(resource_id=resource_id, run_id=run_id).delete()
    nxt = (
        Run.objects.filter(resource_id=resource_id, status=RunStatus.QUEUED).order_by("pk").first()
    )
    if nxt is not None:
        enqueue(nxt)


def stale_before() -> Any:
    """Runs whose heartbeat is older than this are considered lost."""

    seconds = setting("IDP_RUN_HEARTBEAT_TIMEOUT")
    return timezone.now() - timedelta(seconds=seconds)
