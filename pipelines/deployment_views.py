"""Portal pages of deployments: the detail page with its live log, and the buttons that
approve, reject, promote and roll back (each calls its action and redirects)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from idp.models import Environment
from idp.rbac import has_team_perm
from idp.services import ServiceError

from .choices import DEPLOYMENT_ACTIVE, DeploymentStatus
from .deployments import actions
from .deployments.logs import read_log
from .models import Deployment


def _deployment(request: HttpRequest, pk: int) -> Deployment:
    return get_object_or_404(actions.visible(request.user), pk=pk)


@login_required
def deployment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    deployment = _deployment(request, pk)
    text, next_offset, complete = read_log(deployment)
    awaiting = deployment.status == DeploymentStatus.AWAITING_APPROVAL
    running = actions.current_deployments(deployment.service).get(deployment.environment_id)
    can_deploy = has_team_perm(request.user, deployment.service.team, "use_team")
    promotable = []
    if can_deploy and deployment.status == DeploymentStatus.SUCCEEDED:
        bound = deployment.service.runtimes.exclude(environment=deployment.environment)
        promotable = list(
            Environment.objects.filter(pk__in=bound.values("environment")).order_by("order")
        )
    context = {
        "deployment": deployment,
        "log_text": text,
        "next_offset": next_offset,
        "complete": complete,
        "approvals": deployment.approvals.select_related("decided_by"),
        "decision_refusal": actions.decision_refusal(deployment, request.user)
        if awaiting
        else None,
        "awaiting": awaiting,
        "can_rollback": can_deploy and running is not None and running.pk == deployment.pk,
        "promotable": promotable,
    }
    return render(request, "pipelines/deployment_detail.html", context)


@login_required
def deployment_log(request: HttpRequest, pk: int) -> HttpResponse:
    """The log after `offset`, appended by htmx; the poller stops once it is over."""
    deployment = _deployment(request, pk)
    try:
        offset = max(0, int(request.GET.get("offset", "0")))
    except ValueError:
        offset = 0
    text, next_offset, complete = read_log(deployment, offset=offset)
    response = render(
        request,
        "pipelines/_deployment_log.html",
        {
            "deployment": deployment,
            "text": text,
            "next_offset": next_offset,
            "complete": complete,
            "active": deployment.status in DEPLOYMENT_ACTIVE,
        },
    )
    if complete:
        response["HX-Refresh"] = "true"  # once: the final status, outcome and buttons show
    return response


def _act(
    request: HttpRequest, pk: int, act: Callable[[Deployment], Any], done: str
) -> HttpResponse:
    deployment = _deployment(request, pk)
    try:
        result = act(deployment)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(deployment)
    messages.success(request, done)
    target = getattr(result, "deployment", result)
    return redirect(target)


@login_required
@require_POST
def deployment_approve(request: HttpRequest, pk: int) -> HttpResponse:
    reason = request.POST.get("reason", "")
    return _act(
        request,
        pk,
        lambda d: actions.approve(d, reason=reason, actor=request.user),
        "Approved.",
    )


@login_required
@require_POST
def deployment_reject(request: HttpRequest, pk: int) -> HttpResponse:
    reason = request.POST.get("reason", "")
    return _act(
        request,
        pk,
        lambda d: actions.reject(d, reason=reason, actor=request.user),
        "Rejected: it will not run.",
    )


@login_required
@require_POST
def deployment_rollback(request: HttpRequest, pk: int) -> HttpResponse:
    reason = request.POST.get("reason", "")
    return _act(
        request,
        pk,
        lambda d: actions.rollback(d, reason=reason, actor=request.user),
        "Rollback requested.",
    )


@login_required
@require_POST
def deployment_promote(request: HttpRequest, pk: int) -> HttpResponse:
    env = Environment.objects.filter(slug=request.POST.get("environment", "")).first()
    reason = request.POST.get("reason", "")
    if env is None:
        messages.error(request, "Choose an environment.")
        return redirect(_deployment(request, pk))
    return _act(
        request,
        pk,
        lambda d: actions.promote(d, env, reason=reason, actor=request.user),
        f"Promotion to {env.slug} requested.",
    )
