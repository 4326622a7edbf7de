"""Dispatching runs: a run is a job of the job framework (idp/jobs, the `provisioning.run`
kind): a row queued with a nudge on commit, re-sent by the sweeper, taken back by the reaper.
What is the run's own: one lock per resource, and the next queued run of a resource nudged
when the lock frees.

Queueing is not Terraform: the workflow and the actions queue runs here, and the engine
takes them (`provisioning.engine.claim`, which defines the kind and its claim and reap).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from idp.jobs import dispatch as jobs
from idp.jobs.registry import JobKind
from idp.jobs.registry import get as job_kind

from . import lifecycle
from .causes import Cause
from .choices import ResourceStatus, RunKind, RunStatus
from .models import Resource, ResourceLock, Run

RUN_KIND = "provisioning.run"


def kind() -> JobKind:
    """The runs' job kind (registered by the app when Django starts)."""
    return job_kind(RUN_KIND)


def send(run_id: int) -> None:
    """Send the Celery message for a run now; a broker outage is logged, the sweeper retries."""
    jobs.send(kind(), run_id)


def enqueue(run: Run) -> None:
    """Send the run to a worker once the current transaction commits."""
    jobs.nudge(kind(), run.pk)


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
    """Runs whose heartbeat is older than this are considered lost (the kind's timeout)."""
    return timezone.now() - timedelta(seconds=kind().heartbeat_timeout())
