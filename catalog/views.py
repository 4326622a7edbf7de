"""Portal pages: the catalog, template pages and services (the request form of a template is
provisioning's: provisioning/views/template_request.py)."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal, InvalidOperation
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

from idp.form_errors import add_service_error
from idp.models import Team
from idp.paginator import CountCachingPaginator
from idp.rbac import has_team_perm
from idp.services import ServiceError
from idp.templatetags.values import format_money, to_json_text

from . import sensitivity, services
from .choices import Lifecycle
from .forms import ServiceForm
from .models import Service, Template, TemplateVersion
from .rendering import render_markdown
from .services.messages import describe_pattern

logger = logging.getLogger(__name__)

LIST_DEFERRED = (
    "current_version__files",
    "current_version__readme",
    "current_version__parameters_schema",
    "current_version__outputs",
)


# --- Templates ---------------------------------------------------------------------------


@login_required
def template_list(request: HttpRequest) -> HttpResponse:
    base = Template.objects.filter(current_version__isnull=False, deprecated=False)
    query = request.GET.get("q", "").strip()
    category = request.GET.get("category", "").strip()
    templates = base.select_related("owner_team", "current_version").defer(*LIST_DEFERRED)
    if query:
        templates = templates.filter(
            Q(title__icontains=query) | Q(slug__icontains=query) | Q(description__icontains=query)
        )
    if category:
        templates = templates.filter(category=category)
    categories = base.exclude(category="").order_by("category").values_list("category", flat=True)
    page = CountCachingPaginator(templates.order_by("title", "slug"), 24).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "catalog/template_list.html",
        {
            "page_obj": page,
            "q": query,
            "category": category,
            "categories": sorted(set(categories)),
        },
    )


def _template(slug: str) -> Template:
    return get_object_or_404(
        Template.objects.select_related("owner_team", "current_version").defer(
            "current_version__files"
        ),
        slug=slug,
    )


def parameter_rows(version: TemplateVersion | None) -> list[dict[str, Any]]:
    if version is None:
        return []
    schema = version.parameters_schema
    required = set(schema.get("required") or [])
    rows = []
    for name, prop in (schema.get("properties") or {}).items():
        kind = prop.get("type", "any")
        rows.append(
            {
                "name": name,
                "title": prop.get("title", name),
                "type": " | ".join(kind) if isinstance(kind, list) else kind,
                "required": name in required,
                "default": prop.get("default"),
                "has_default": "default" in prop,
                "description": prop.get("description", ""),
                "help": prop.get("x-help", ""),
                "sensitive": sensitivity.is_sensitive(prop),
                "rules": rule_sentences(prop),
            }
        )
    return rows


def unit_costs(version: TemplateVersion | None) -> list[dict[str, str]]:
    """The per-unit prices of the cost hints: `$1.50`, or every digit of a sub-cent rate."""
    hints = (version.cost_hints if version else None) or {}
    rows = []
    for part in hints.get("per_unit") or []:
        if not isinstance(part, dict):
            continue
        try:
            rate = Decimal(str(part.get("usd_per_unit")))
        except (InvalidOperation, ValueError):
            continue
        exponent = rate.as_tuple().exponent
        precise = isinstance(exponent, int) and exponent < -2
        rows.append(
            {
                "price": f"${rate.normalize():f}" if precise else format_money(rate),
                "unit": str(part.get("unit") or "unit"),
                "parameter": str(part.get("parameter") or ""),
            }
        )
    return rows


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def rule_sentences(prop: dict[str, Any]) -> list[str]:
    """The checks on one parameter in words, for the template page (the same words as its
    validation errors where there is one)."""
    rules: list[str] = []
    if "enum" in prop:
        rules.append("One of: " + ", ".join(to_json_text(v) for v in prop["enum"]))
    if "pattern" in prop:
        described = describe_pattern(str(prop["pattern"]))
        own = (prop.get("x-error-message-for") or {}).get("pattern")
        rules.append(described or own or f"Matches the pattern {prop['pattern']}")
    low, high = prop.get("minimum"), prop.get("maximum")
    if low is not None and high is not None:
        rules.append(f"From {_number(low)} to {_number(high)}")
    elif low is not None:
        rules.append(f"At least {_number(low)}")
    elif high is not None:
        rules.append(f"At most {_number(high)}")
    for unit, key in (("characters", "Length"), ("items", "Items"), ("entries", "Properties")):
        least, most = prop.get(f"min{key}"), prop.get(f"max{key}")
        if least is not None and most is not None:
            rules.append(f"{least} to {most} {unit}")
        elif least is not None:
            rules.append(f"At least {least} {unit}")
        elif most is not None:
            rules.append(f"At most {most} {unit}")
    return rules


@login_required
def template_detail(request: HttpRequest, slug: str) -> HttpResponse:
    template = _template(slug)
    version = template.current_version
    versions = template.versions.defer("files", "parameters_schema", "readme", "metadata")
    readme = render_markdown(version.readme, cache_key=version.content_hash) if version else ""
    return render(
        request,
        "catalog/template_detail.html",
        {
            "template": template,
            "version": version,
            "versions": versions,
            "readme": readme,
            "parameters": parameter_rows(version),
            "unit_costs": unit_costs(version),
            # The owning team's page answers 404 to outsiders: link it only for those who see it.
            "owner_visible": template.owner_team_id is not None
            and Team.objects.for_user(request.user).filter(pk=template.owner_team_id).exists(),
        },
    )


# --- Services ------------------------------------------------------------------------------


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
        },
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
            service = services.create_service(actor=request.user, **data)
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
            service = services.update_service(service, actor=request.user, **form.cleaned_data)
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
    services.archive_service(service, actor=request.user)
    messages.success(request, f"Service {service.name} archived.")
    return redirect("catalog:service_list")
