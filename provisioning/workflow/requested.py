"""Requested: a request, a change, an upgrade, a re-plan or a destroy asked for queues a
plan (the resource moves to planning, or destroying); a worker taking a first plan moves a
pending resource to planning."""

from __future__ import annotations

from typing import Any

from .. import dispatch, lifecycle
from ..causes import Cause
from ..choices import PlanHold, ResourceEvent, RunKind
from ..crypto import encrypt_json
from ..models import Resource, Run
from ..proposals import Config
from .steps import E, S


def queue_plan(
    resource: Resource,
    config: Config,
    *,
    cause: Cause,
    event: ResourceEvent,
    action: str | None = None,
    is_destroy: bool = False,
    refresh_only: bool = False,
    hold: bool = False,
    recovers: Run | None = None,
    details: dict[str, Any] | None = None,
) -> Run:
    """Queue a plan of `config` and move the resource to planning (or destroying)."""
    run = dispatch.new_run(
        resource,
        RunKind.PLAN,
        actor=cause,
        version=config.version,
        parameters=config.plain,
        sensitive=encrypt_json(config.secret),
        is_destroy=is_destroy,
        refresh_only=refresh_only,
        recovers=recovers,
    )
    if hold:
        # Marked before the plan runs (the run is sent on commit); `plan_finished` keeps it.
        Run.objects.filter(pk=run.pk).update(hold=PlanHold.HELD)
        run.hold = PlanHold.HELD
    lifecycle.transition(
        resource,
        dispatch.running_status(run),
        event,
        actor=cause.person,
        action=action,
        fields={"last_error": ""},
        details={"run": run.pk, **(details or {})},
    )
    return run


def run_started(run: Run, resource: Resource) -> None:
    """A worker took the run: a first plan moves the resource to planning."""
    if run.kind == RunKind.PLAN and resource.status == S.PENDING:
        lifecycle.transition(resource, S.PLANNING, E.PLAN_STARTED, record=False)
