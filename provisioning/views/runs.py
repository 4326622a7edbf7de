"""Portal pages of runs: the live log (htmx polling from an offset) and the rendered plan."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from idp.services import ServiceError

from .. import actions
from ..access import run_queryset
from ..choices import RUN_TERMINAL, RunKind, RunStatus
from ..models import Run
from ..plan_summary import plan_counts
from ..presenters import plan_addresses


def _run(request: HttpRequest, pk: int) -> Run:
    return get_object_or_404(
        run_queryset(request.user).select_related(
            "resource__team", "resource__environment", "resource__template"
        ),
        pk=pk,
    )


def waiting(run: Run, text: str, offset: int) -> dict[str, Any] | None:
    """While the run has written nothing yet: what it waits for (a worker while queued, its
    first output once started) and since when, so the log is never an empty box."""
    if text or offset or run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
        return None
    queued = run.status == RunStatus.QUEUED
    since = run.created_at if queued else (run.started_at or run.created_at)
    return {
        "queued": queued,
        "since": since,
        "seconds": max(0, int((timezone.now() - since).total_seconds())),
    }


@never_cache
@login_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The run's status, timings, plan and log; the log keeps growing while the run is active."""
    run = _run(request, pk)
    text, next_offset, complete = actions.read_run_log(run, offset=0)
    # An apply shows the plan it applies (that plan's changes and policy results).
    plan = run.plan_run if run.kind != RunKind.PLAN and run.plan_run_id else run
    context = {
        "run": run,
        "resource": run.resource,
        "log_text": text,
        "waiting": waiting(run, text, 0),
        "next_offset": next_offset,
        "complete": complete and run.status in RUN_TERMINAL,
        "plan": plan,  # its attribute-level changes (provisioning/_plan_diff.html)
        # A plan's page links the apply (or destroy) that follows it.
        "applies": list(run.applies.order_by("pk")) if run.kind == RunKind.PLAN else [],
        "plan_counts": plan_counts(plan.plan_summary) if plan and plan.plan_summary else None,
        "plan_addresses": plan_addresses(plan.plan_summary) if plan and plan.plan_summary else None,
        "can_cancel": "cancel" in actions.allowed_actions(run.resource, request.user)
        and run.status not in RUN_TERMINAL,
    }
    return render(request, "provisioning/run_detail.html", context)


@never_cache
@login_required
def run_log(request: HttpRequest, pk: int) -> HttpResponse:
    """The log after `offset`, appended by htmx; the poller stops once the run is over."""
    run = _run(request, pk)
    try:
        offset = max(0, int(request.GET.get("offset", "0")))
    except ValueError:
        offset = 0
    text, next_offset, complete = actions.read_run_log(run, offset=offset)
    response = render(
        request,
        "provisioning/_run_log.html",
        {
            "run": run,
            "text": text,
            "next_offset": next_offset,
            "complete": complete,
            "waiting": waiting(run, text, offset),
        },
    )
    if complete:
        # Reload once so the final status, plan and actions show; no poller is rendered then.
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    try:
        stopped = actions.cancel_run(run, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, stopped.message)
    return redirect(run)
