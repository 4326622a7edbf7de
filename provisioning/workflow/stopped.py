"""Run stopped (failed, cancelled, unlocked): the pure `after_stop` says where the resource
goes (what exists stays `provisioned`, else `failed`; the proposal discarded unless a lost
run's outcome is still being found out), and the functions below carry it out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from idp.actors import Person

from .. import dispatch, lifecycle
from ..choices import RUN_ACTIVE, RunKind, RunStatus
from ..models import Resource, Run
from ..proposals import discard_fields, unresolved_loss
from .steps import E, Next, S, Step, move


@dataclass(frozen=True)
class StopFacts:
    """What the workflow knows when a run stopped without success."""

    kind: RunKind
    exists: bool  # applied before and not destroyed
    nothing_ran: bool  # a plan, or an apply that never reached Terraform
    newer_run: bool  # a newer run carries the resource on
    recovering: bool  # the run was finding out what a lost run did


def after_stop(f: StopFacts) -> Step:
    """Where the resource goes after a run failed, was cancelled or unlocked."""
    if f.kind == RunKind.DRIFT or f.newer_run:
        return Step(Next.NOTHING)
    if f.recovering:
        # What is there is unknown: failed (retryable), and the proposal kept, so a retry
        # plans it again instead of the configuration before the lost run.
        return Step(Next.RECORD, S.FAILED, E.RUN_STOPPED)
    to = S.PROVISIONED if f.exists and f.nothing_ran else S.FAILED
    return Step(Next.RECORD, to, E.RUN_STOPPED, discard=True)


def _stop_facts(run: Run, resource: Resource, nothing_applied: bool) -> StopFacts:
    newer = (
        Run.objects.filter(resource=resource, status__in=RUN_ACTIVE)
        .exclude(pk=run.pk)
        .exclude(kind=RunKind.DRIFT)
        .exists()
    )
    return StopFacts(
        kind=RunKind(run.kind),
        exists=resource.provisioned_at is not None and resource.destroyed_at is None,
        nothing_ran=nothing_applied or run.kind == RunKind.PLAN or run.started_at is None,
        newer_run=newer,
        recovering=run.recovers_id is not None or unresolved_loss(resource) is not None,
    )


def settle_after_stop(
    resource: Resource,
    error: str,
    run: Run,
    *,
    discard: bool = True,
    actor: Person | None = None,
    nothing_applied: bool = False,
) -> None:
    """The resource after a run stopped without success (failed, cancelled, lost, unlocked):
    the step `after_stop` says; the proposal is discarded unless a new plan follows or what
    a lost run did is still unknown."""
    if run.kind == RunKind.DRIFT:
        Resource.objects.filter(pk=resource.pk).update(drift_checked_at=timezone.now())
        return
    step = after_stop(_stop_facts(run, resource, nothing_applied))
    if step.next == Next.NOTHING:
        return
    fields: dict[str, Any] = {"last_error": error[:10000]}
    if discard and step.discard:
        fields.update(discard_fields(resource))
    assert step.to is not None and step.event is not None
    if lifecycle.allowed(step.event, resource.status, step.to):
        move(
            resource,
            step,
            actor=actor,
            fields=fields,
            details={"run": run.pk, "kind": run.kind, "error": error[:500]},
        )
    else:  # e.g. awaiting approval, or already settled: keep the status, record the error
        Resource.objects.filter(pk=resource.pk).update(**fields)
        for name, value in fields.items():
            setattr(resource, name, value)


def run_stopped(
    run: Run,
    resource: Resource,
    to: RunStatus,
    error: str,
    *,
    expect: RunStatus = RunStatus.RUNNING,
    actor: Person | None = None,
    action: str | None = None,
    discard: bool = True,
    nothing_applied: bool = False,
    fields: dict[str, Any] | None = None,
) -> bool:
    """End a run without success, settle its resource and free its lock, in the caller's
    transaction with the resource row locked. False when the run had already ended."""
    if not lifecycle.end_run(
        run, to, expect=expect, error=error, actor=actor, action=action, fields=fields
    ):
        return False
    settle_after_stop(
        resource,
        f"Run {run.pk} ({run.kind}): {error}",
        run,
        discard=discard,
        actor=actor,
        nothing_applied=nothing_applied,
    )
    dispatch.release(resource.pk, run.pk)
    return True


def run_cancelled(run: Run, resource: Resource, *, actor: Person | None = None) -> None:
    """End a queued run as cancelled and settle its resource (caller holds the row locks):
    a person cancelled it, or a worker took it with a cancel requested."""
    run_stopped(
        run,
        resource,
        RunStatus.CANCELLED,
        run.error or "Cancelled",
        expect=RunStatus.QUEUED,
        actor=actor,
    )
