"""Portal pages of resources: the list, the resource page and its actions."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from catalog.models import Service, Template, version_label
from idp.form_errors import add_service_error
from idp.models import Environment, Team
from idp.paginator import CountCachingPaginator
from idp.services import ServiceError

from .. import actions
from ..access import resource_list_queryset, resource_page_queryset, resource_queryset
from ..actions.holds import held_plan
from ..actions.permissions import Known
from ..actions.resource_access import access_seen_by
from ..actions.results import PlanStarted
from ..approval_policy import Requirement
from ..choices import ResourceStatus
from ..filtersets import ResourceFilterSet
from ..forms import ApproveForm, BreakGlassForm, OverridePolicyForm, RejectForm, UpgradeForm
from ..models import Resource, Run
from ..notifications import who_may_approve
from ..plan_summary import plan_counts
from ..presenters import (
    RUN_LIST_SIZE,
    ResourcePage,
    drift_resolution,
    masked_outputs,
    masked_parameters,
    plan_addresses,
    proposed_change,
)
from .params import parameters_form

PAGE_SIZE = 50


def _resource(request: HttpRequest, pk: int) -> Resource:
    return get_object_or_404(resource_queryset(request.user), pk=pk)


def _page_resource(request: HttpRequest, pk: int) -> Resource:
    """The resource with what its page reads of approvals and runs (`_detail_context`)."""
    return get_object_or_404(resource_page_queryset(request.user), pk=pk)


STATUS_LABELS = dict(ResourceStatus.choices)


def table_rows(resources: Iterable[Resource]) -> list[dict[str, Any]]:
    """The resource table's cells as plain values, from `resource_list_queryset` rows.

    The template reads a dict's keys far faster than it walks model attributes: with
    models, fifty rows were half of the list page's time. A resource's page is the list's
    URL plus its id (one `reverse` per table, not per row).
    """
    base = reverse("provisioning:resource_list")
    return [
        {
            "url": f"{base}{r.pk}/",
            "name": r.name,
            "drifted": r.drifted,
            "team": r.team.slug,
            "service": r.service.slug if r.service else "",
            "environment": r.environment_slug,  # type: ignore[attr-defined]
            "template": r.template_slug,  # type: ignore[attr-defined]
            "version": version_label(r.version_tag, r.version_number),  # type: ignore[attr-defined]
            "status": r.status,
            "status_label": STATUS_LABELS.get(r.status, r.status),
            "activity": getattr(r, "activity", None),  # queued/running, from the list query
            "created": timezone.localtime(r.created_at).strftime("%Y-%m-%d %H:%M"),
            "requested_by": r.requested_by.get_username() if r.requested_by else "",
        }
        for r in resources
    ]


@login_required
def resource_list(request: HttpRequest) -> HttpResponse:
    """Your teams' resources, filtered and paginated, in a constant number of queries."""
    visible = resource_list_queryset(request.user)
    filterset = ResourceFilterSet(request.GET or None, queryset=visible)
    queryset = filterset.qs if filterset.is_bound else visible
    page = CountCachingPaginator(queryset.order_by("-created_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "filterset": filterset,
        "page_obj": page,
        "resources": table_rows(page.object_list),
        # (value, label) pairs. Services are typed, not listed: 20k options at scale.
        "teams": Team.objects.for_user(request.user).values_list("slug", "slug"),
        "environments": Environment.objects.values_list("slug", "slug"),
        "templates": Template.objects.values_list("slug", "slug"),
        "statuses": ResourceStatus.choices,
        "current": {
            k: request.GET.get(k, "") for k in ("team", "service", "environment", "template", "q")
        }
        | {"status": request.GET.getlist("status")},
    }
    return render(request, "provisioning/resource_list.html", context)


# Distinct ids per decision form: three forms on the page have a "reason".
APPROVE_ID, REJECT_ID, BREAK_GLASS_ID = "id_approve_%s", "id_reject_%s", "id_break_glass_%s"
OVERRIDE_ID = "id_override_%s"


def run_phrase(run: Run) -> str:
    """The current run in a sentence: "A plan run", "An apply run", "A drift check run"."""
    kind = run.get_kind_display().lower()
    return f"{'An' if kind[:1] in 'aeiou' else 'A'} {kind} run"


def awaiting_banner(page: ResourcePage, user: Any) -> dict[str, Any] | None:
    """For a resource awaiting approval: whom its plan waits for, since when, until when, and
    whether `user` is one of them (the approval policy's answers, in words)."""
    resource = page.resource
    plan = page.plan_awaiting_decision
    if plan is None:
        return None
    policy = page.policy
    progress = policy.progress(plan)
    requirement = Requirement.from_json(plan.approval_requirement)
    touchers = page.touchers()
    return {
        "plan": plan,
        "who": who_may_approve(resource, requirement),
        "not_by": sorted(u.get_username() for u in touchers),
        "approved_by": progress.get("approved_by") or [],
        "still_needed": max(0, requirement.approvals - len(progress.get("approved_by") or [])),
        "reasons": list(requirement.reasons),
        "since": plan.finished_at,
        "waited": _ago(plan.finished_at),
        "closes": progress.get("plan_expires_at"),
        "you_may": policy.refusal(resource, plan, user) is None,
    }


def _ago(moment: Any) -> str:
    """How long ago, as "just now" under a minute (timesince says "0 minutes")."""
    if moment is None or (timezone.now() - moment).total_seconds() < 60:
        return "just now"
    return f"{timesince(moment)} ago"


# Statuses that change only when someone acts: with no run active, the page stops polling.
QUIET = {
    ResourceStatus.PROVISIONED,
    ResourceStatus.FAILED,
    ResourceStatus.REJECTED,
    ResourceStatus.DESTROYED,
}


def listed_runs(resource: Resource) -> list[tuple[int, str]]:
    """(pk, status) of the runs the page lists, newest first (`ResourcePage.runs`)."""
    return list(
        Run.objects.filter(resource=resource)
        .order_by("-created_at", "-id")
        .values_list("pk", "status")[:RUN_LIST_SIZE]
    )


def live_state(
    resource: Resource, allowed: set[str], runs: list[tuple[int, str]]
) -> tuple[str, bool]:
    """A fingerprint of what the live part of the page shows, and whether it may still change
    without anyone acting (a run active, or a status on its way). `resource` comes from
    `resource_page_queryset`, which counts its approvals and active runs; `runs` are
    `listed_runs`."""
    active = resource.run_active  # type: ignore[attr-defined]
    decisions = {
        "n": resource.approval_count,  # type: ignore[attr-defined]
        "last": resource.last_approval,  # type: ignore[attr-defined]
    }
    seen = (
        resource.status,
        resource.updated_at.isoformat() if resource.updated_at else "",
        resource.drifted,
        resource.drift_checked_at.isoformat() if resource.drift_checked_at else "",
        runs,
        active,
        sorted(decisions.items()),
        sorted(allowed),
    )
    digest = hashlib.sha256(repr(seen).encode()).hexdigest()[:16]
    return digest, resource.status in QUIET and not active


def policy_block(resource: Resource, plan: Run | None) -> dict[str, Any] | None:
    """For a plan held by its policies: the failures that hold it, and the way out."""
    if resource.status != ResourceStatus.POLICY_FAILED or plan is None:
        return None
    summary = plan.policy_summary or {}
    blocking = [
        r
        for r in summary.get("results", [])
        if r.get("level") == "failure" and r.get("enforcement") != "advisory"
    ]
    return {"failures": blocking, "overridable": bool(summary.get("overridable"))}


def _detail_context(request: HttpRequest, resource: Resource, **extra: Any) -> dict[str, Any]:
    """The resource page's context; `resource` from `_page_resource`. Runs, approvals and
    dependencies are read once each (`ResourcePage`) and every panel takes them from there."""
    page = ResourcePage.load(resource)
    plan = page.latest_plan
    known = Known(page.policy, page.plan_awaiting_decision, run_active=bool(page.active))
    allowed = actions.allowed_actions(resource, request.user, known)
    # Decisions name the plan shown here, so they never land on a newer one.
    seen = {"plan_run": plan.pk if plan is not None else None}
    state, quiet = live_state(resource, allowed, [(r.pk, r.status) for r in page.runs])
    running = page.current_run
    forms = {
        "reject_form": extra.pop("reject_form", None)
        or RejectForm(initial=seen, auto_id=REJECT_ID),
        "approve_form": ApproveForm(initial=seen, auto_id=APPROVE_ID),
        "break_glass_form": extra.pop("break_glass_form", None)
        or BreakGlassForm(initial=seen, auto_id=BREAK_GLASS_ID),
        "override_form": extra.pop("override_form", None)
        or OverridePolicyForm(initial=seen, auto_id=OVERRIDE_ID),
    }
    for form in forms.values():
        # What someone is typing survives the live part's swaps (htmx keeps it by its id).
        form.fields["reason"].widget.attrs["hx-preserve"] = "true"
    return {
        "resource": resource,
        "parameters": masked_parameters(resource),
        "outputs": masked_outputs(resource),
        "allowed_actions": allowed,
        "proposed": proposed_change(resource, page),
        "break_glass_used": resource.break_glass_used,  # type: ignore[attr-defined]
        "current_run": running,
        "current_run_phrase": run_phrase(running) if running else "",
        "held_plan": held_plan(resource),
        # Links are made within one team (the binding rule), so both sides are visible here.
        "depends_on": page.depends_on,
        "used_by": page.used_by,
        "awaiting": awaiting_banner(page, request.user),
        "policy_block": policy_block(resource, plan),
        "drift_resolution": drift_resolution(resource),
        "plan": plan,
        "plan_counts": plan_counts(plan.plan_summary) if plan else None,
        "plan_addresses": plan_addresses(plan.plan_summary) if plan else None,
        "runs": page.runs,
        "approvals": page.approvals,
        **forms,
        "upgrade_form": UpgradeForm(resource=resource) if "upgrade" in allowed else None,
        "live_state": state,
        "live_polling": not quiet,
        # Read only where there is something to show (most resources are neither).
        "access": (
            access_seen_by(resource, request.user)
            if resource.restricted or getattr(resource, "is_shared", False)
            else None
        ),
        "can_manage_access": actions.access_refusal(resource, request.user) is None,
        **extra,
    }


@never_cache
@login_required
def resource_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Status, masked parameters and outputs, the plan, runs, approvals and the allowed actions;
    the live part polls `resource_live` while something may change."""
    resource = _page_resource(request, pk)
    return render(request, "provisioning/resource_detail.html", _detail_context(request, resource))


@never_cache
@login_required
def resource_live(request: HttpRequest, pk: int) -> HttpResponse:
    """The live part of the resource page for htmx, polled every 2 s with the `state` it shows.
    Unchanged: 204 (nothing swapped), or 286 (htmx stops polling) once the resource is quiet.
    Changed: the part anew, without a poller when it has become quiet."""
    resource = _page_resource(request, pk)
    allowed = actions.allowed_actions(resource, request.user)
    state, quiet = live_state(resource, allowed, listed_runs(resource))
    if request.GET.get("state") == state:
        return HttpResponse(status=STOP_POLLING if quiet else 204)
    context = _detail_context(request, resource)
    return render(request, "provisioning/_resource_live.html", context)


STOP_POLLING = 286  # htmx: stop the element's polling trigger


def _done(request: HttpRequest, message: str, target: Any) -> HttpResponse:
    messages.success(request, message)
    return redirect(target)


def _refused(request: HttpRequest, resource: Resource, error: ServiceError) -> HttpResponse:
    messages.error(request, error.message)
    return redirect(resource)


@login_required
@require_POST
def resource_approve(request: HttpRequest, pk: int) -> HttpResponse:
    resource = _resource(request, pk)
    form = ApproveForm(request.POST)
    valid = form.is_valid()
    reason = form.cleaned_data["reason"] if valid else ""
    plan_run = form.cleaned_data.get("plan_run") if valid else None
    try:
        decision = actions.approve(resource, actor=request.user, reason=reason, plan_run=plan_run)
    except ServiceError as error:
        return _refused(request, resource, error)
    return _done(request, decision.message, resource)


@login_required
@require_POST
def resource_break_glass(request: HttpRequest, pk: int) -> HttpResponse:
    resource = _resource(request, pk)
    form = BreakGlassForm(request.POST, auto_id=BREAK_GLASS_ID)
    if form.is_valid():
        try:
            decision = actions.break_glass(resource, actor=request.user, **form.cleaned_data)
        except ServiceError as error:
            if error.field != "reason":
                return _refused(request, resource, error)
            add_service_error(error, form)
        else:
            return _done(request, decision.message, resource)
    context = _detail_context(request, _page_resource(request, pk), break_glass_form=form)
    return render(request, "provisioning/resource_detail.html", context, status=400)


@login_required
@require_POST
def resource_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    resource = _resource(request, pk)
    try:
        withdrawn = actions.withdraw(resource, actor=request.user)
    except ServiceError as error:
        return _refused(request, resource, error)
    return _done(request, withdrawn.message, resource)


@login_required
@require_POST
def resource_reject(request: HttpRequest, pk: int) -> HttpResponse:
    resource = _resource(request, pk)
    form = RejectForm(request.POST, auto_id=REJECT_ID)
    if form.is_valid():
        try:
            decision = actions.reject(resource, actor=request.user, **form.cleaned_data)
        except ServiceError as error:
            if error.field != "reason":
                return _refused(request, resource, error)
            add_service_error(error, form)
        else:
            return _done(request, decision.message, resource)
    context = _detail_context(request, _page_resource(request, pk), reject_form=form)
    return render(request, "provisioning/resource_detail.html", context, status=400)


def _run_action(name: str) -> Callable[..., HttpResponse]:
    """A POST-only view calling `actions.<name>(resource, actor=…)`, which queues a plan;
    the resource's page follows (it shows the plan, then the apply), with what the action
    says it did."""

    @login_required
    @require_POST
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        resource = _resource(request, pk)
        try:
            started: PlanStarted = getattr(actions, name)(resource, actor=request.user)
        except ServiceError as error:
            return _refused(request, resource, error)
        return _done(request, started.message, started.resource)

    view.__name__ = f"resource_{name}"
    return view


resource_plan = _run_action("replan")
resource_retry = _run_action("retry")
resource_destroy = _run_action("request_destroy")


@login_required
@require_POST
def resource_upgrade(request: HttpRequest, pk: int) -> HttpResponse:
    resource = _resource(request, pk)
    form = UpgradeForm(request.POST, resource=resource)
    if not form.is_valid():
        messages.error(request, "Choose one of the template's versions.")
        return redirect(resource)
    version = resource.template.versions.get(number=form.cleaned_data["version"])
    try:
        started = actions.upgrade(resource, version, actor=request.user)
    except ServiceError as error:
        return _refused(request, resource, error)
    return _done(request, started.message, started.resource)


@login_required
def resource_change(request: HttpRequest, pk: int) -> HttpResponse:
    """Change parameters: the form re-shows with errors by their fields; success plans anew."""
    resource = _resource(request, pk)
    form = parameters_form(
        resource, request.POST if request.method == "POST" else None, user=request.user
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                started = actions.change_parameters(
                    resource, form.new_parameters(), actor=request.user
                )
            except ServiceError as error:
                if error.status != 400:
                    return _refused(request, resource, error)
                add_service_error(error, form)
            else:
                return _done(request, started.message, started.resource)
        status = 400
    context = {"resource": resource, "form": form}
    return render(request, "provisioning/resource_change.html", context, status=status)


@login_required
def service_resources(request: HttpRequest, slug: str) -> HttpResponse:
    """The partial listing a service's resources (for the catalog's service page, via htmx)."""
    service = get_object_or_404(Service.objects.for_user(request.user), slug=slug)
    resources = table_rows(
        resource_list_queryset(request.user).filter(service=service).order_by("-created_at")[:100]
    )
    return render(
        request,
        "provisioning/_service_resources.html",
        {"service": service, "resources": resources},
    )
