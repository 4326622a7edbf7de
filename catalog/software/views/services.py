"""Portal pages of services (the software components teams own): list, page, create, edit
and archive. A service's page shows what other apps hold of it: resources, pipelines, costs."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.db.models import Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from catalog.choices import Lifecycle
from catalog.models import Service
from idp.form_errors import add_service_error
from idp.models import Team
from idp.paginator import CountCachingPaginator
from idp.rbac import has_team_perm
from idp.services import ServiceError
from pipelines.deployments import actions as deployments

from ..forms import ServiceForm
from ..services import components

logger = logging.getLogger(__name__)


@login_required
def service_list(request: HttpRequest) -> HttpResponse:
    services_ = Service.objects.for_user(request.user).select_related("team")
    query = request.GET.get("q", "").strip()
    team = request.GET.get("team", "").strip()
    lifecycle = request.GET.get("lifecycle", "").strip()
    archived = request.GET.get("archived") == "1"
    services_ = services_.filter(archived=archived)
    if query:
        services_ = services_.filter(Q(name__icontains=query) | Q(slug__icontains=query))
    if team:
        services_ = services_.filter(team__slug=team)
    if lifecycle:
        services_ = services_.filter(lifecycle=lifecycle)
    page = CountCachingPaginator(services_.order_by("slug"), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "catalog/service_list.html",
        {
            "page_obj": page,
            "q": query,
            "team": team,
            "lifecycle": lifecycle,
            "archived": archived,
            "teams": Team.objects.for_user(request.user).order_by("slug").only("slug", "name"),
            "lifecycles": Lifecycle.choices,
            "can_create": Team.objects.for_user(request.user, "maintain_team").exists(),
        },
    )


def _related(
    service: Service,
    name: str,
    *,
    select: tuple[str, ...] = (),
    limit: int = 50,
    **filters: Any,
) -> list:
    """Objects of another app related to the service, or [] before that app has them."""
    manager = getattr(service, name, None)
    if manager is None:
        return []
    try:
        return list(manager.filter(**filters).select_related(*select)[:limit])
    except (DatabaseError, AttributeError, ValueError):
        logger.warning("could not load %s of service %s", name, service.slug, exc_info=True)
        return []


def _costs(service: Service) -> dict[str, Any] | None:
    try:
        model = apps.get_model("monitoring", "CostRecord")
    except LookupError:
        return None
    since = timezone.now().date() - timedelta(days=30)
    try:
        total = model.objects.filter(
            team=service.team, service_slug=service.slug, date__gte=since
        ).aggregate(total=Sum("amount"))["total"]
    except DatabaseError:
        logger.warning("could not load costs of service %s", service.slug, exc_info=True)
        return None
    return {"last_30_days": total, "since": since}


@login_required
def service_detail(request: HttpRequest, slug: str) -> HttpResponse:
    service = get_object_or_404(
        Service.objects.for_user(request.user).select_related("team"), slug=slug
    )
    return render(
        request,
        "catalog/service_detail.html",
        {
            "service": service,
            "can_edit": has_team_perm(request.user, service.team, "maintain_team"),
            # Archived requests are put away: hidden here as in every list.
            "resources": _related(
                service, "resources", select=("environment", "template"), archived_at__isnull=True
            ),
            "pipelines": _related(service, "pipelines"),
            "costs": _costs(service),
            **_deployments(service),
        },
    )


def _deployments(service: Service) -> dict[str, Any]:
    rows = deployments.matrix(service)
    return {"deployments": rows, "deployments_live": any(row.active for row in rows)}


@login_required
def service_deployments(request: HttpRequest, slug: str) -> HttpResponse:
    """The deployment matrix of a service (environment → what runs), polled by htmx."""
    service = get_object_or_404(
        Service.objects.for_user(request.user).select_related("team"), slug=slug
    )
    return render(
        request,
        "catalog/_deployments.html",
        {"service": service, **_deployments(service)},
    )


@login_required
def service_create(request: HttpRequest) -> HttpResponse:
    form = ServiceForm(
        request.user, request.POST or None, initial={"team": request.GET.get("team")}
    )
    if not form.fields["team"].queryset.exists():  # type: ignore[attr-defined]
        raise PermissionDenied("Only team maintainers register services.")
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            service = components.create_service(actor=request.user, **data)
        except ServiceError as exc:
            add_service_error(exc, form)
        else:
            messages.success(request, f"Service {service.name} registered.")
            return redirect(service)
    return render(
        request,
        "catalog/service_form.html",
        {"form": form, "service": None},
        status=400 if request.method == "POST" else 200,
    )


def _editable_service(request: HttpRequest, slug: str) -> Service:
    service = get_object_or_404(
        Service.objects.for_user(request.user).select_related("team"), slug=slug
    )
    if not has_team_perm(request.user, service.team, "maintain_team"):
        raise PermissionDenied("Only maintainers of the owning team change this service.")
    return service


@login_required
def service_edit(request: HttpRequest, slug: str) -> HttpResponse:
    service = _editable_service(request, slug)
    initial = {
        "name": service.name,
        "team": service.team,
        "description": service.description,
        "repository_url": service.repository_url,
        "lifecycle": service.lifecycle,
        "tier": service.tier,
        "links": service.links,
        "tags": ", ".join(service.tags),
    }
    form = ServiceForm(request.user, request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            service = components.update_service(service, actor=request.user, **form.cleaned_data)
        except ServiceError as exc:
            add_service_error(exc, form)
        else:
            messages.success(request, "Service updated.")
            return redirect(service)
    return render(
        request,
        "catalog/service_form.html",
        {"form": form, "service": service},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def service_archive(request: HttpRequest, slug: str) -> HttpResponse:
    service = _editable_service(request, slug)
    components.archive_service(service, actor=request.user)
    messages.success(request, f"Service {service.name} archived.")
    return redirect("catalog:service_list")
