"""Portal pages of the template registry: the catalog's list and template pages, and the
template sources page of platform admins (a template's request form is provisioning's:
provisioning/views/template_request.py; services are the software catalog's:
catalog/software/views/services.py)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from idp.conf import setting
from idp.models import Team
from idp.paginator import CountCachingPaginator
from idp.rbac import is_platform_admin
from idp.services import Forbidden, ServiceError
from idp.templatetags.values import format_money, to_json_text

from . import sensitivity
from .forms import TemplateSourceForm, VersionStatusForm
from .models import Template, TemplateSource, TemplateVersion
from .rendering import render_markdown
from .sensitivity import redact_credentials
from .services import source_health, sources
from .services.messages import describe_pattern

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


# --- Template sources (platform admins) -----------------------------------------------------

SOURCES_REFUSAL = "Only platform admins manage template sources."


def _admin_only(request: HttpRequest) -> None:
    """The portal's refusal (403 with the reason) for everyone but platform admins."""
    if not is_platform_admin(request.user):
        raise PermissionDenied(SOURCES_REFUSAL)


def _source(pk: int) -> TemplateSource:
    return get_object_or_404(TemplateSource, pk=pk)


def webhook_url() -> str:
    """Where a repository (or its CI) posts to ask for a sync (signed with the secret)."""
    return setting("IDP_SITE_URL").rstrip("/") + reverse("template_source_webhook")


def _source_row(source: TemplateSource) -> dict[str, Any]:
    return {
        "source": source,
        "url": redact_credentials(source.url),
        "health": source_health.health(source),
        "versions": getattr(source, "version_count", None),
        "templates": getattr(source, "template_count", None),
    }


def _secret_page(
    request: HttpRequest, source: TemplateSource, secret: str, *, created: bool
) -> HttpResponse:
    """The one page that shows a webhook secret: never cached, never shown again."""
    response = render(
        request,
        "catalog/source_secret.html",
        {
            "source": source,
            "url": redact_credentials(source.url),
            "secret": secret,
            "webhook_url": webhook_url(),
            "created": created,
        },
        status=201 if created else 200,
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
def source_list(request: HttpRequest) -> HttpResponse:
    """Every template source with the health of its last sync."""
    _admin_only(request)
    rows = [
        _source_row(source)
        for source in TemplateSource.objects.annotate(
            version_count=Count("versions", distinct=True),
            template_count=Count("versions__template", distinct=True),
        ).order_by("pk")
    ]
    return render(request, "catalog/source_list.html", {"rows": rows})


@login_required
def source_add(request: HttpRequest) -> HttpResponse:
    """Register a source; the answer shows its webhook URL and secret, once."""
    _admin_only(request)
    form = TemplateSourceForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        secret = sources.new_webhook_secret()
        try:
            source = sources.register_source(
                request.user,
                data["url"],
                ref_type=data["ref_type"],
                ref_pattern=data["ref_pattern"],
                paths=data["paths"],
                signing_key=data["signing_key"],
                webhook_secret=secret,
            )
        except Forbidden as error:
            raise PermissionDenied(error.message) from error
        except ServiceError as error:
            field = error.field if error.field in form.fields else None
            form.add_error(field, error.message)
        else:
            return _secret_page(request, source, secret, created=True)
    status = 400 if request.method == "POST" else 200
    return render(request, "catalog/source_form.html", {"form": form}, status=status)


@login_required
def source_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One source: its health, webhook, and versions with their status buttons."""
    _admin_only(request)
    source = _source(pk)
    versions = (
        TemplateVersion.objects.filter(source=source)
        .select_related("template")
        .defer("files", "metadata", "parameters_schema", "readme", "changelog", "outputs")
        .order_by("template__slug", "-sort_key", "-number")
    )
    return render(
        request,
        "catalog/source_detail.html",
        {
            **_source_row(source),
            "versions": versions,
            "webhook_url": webhook_url(),
            "has_secret": bool(source.webhook_secret),
            "signed": bool(source.signing_key),
        },
    )


@login_required
@require_POST
def source_sync(request: HttpRequest, pk: int) -> HttpResponse:
    """Sync now: the source's sync job is queued (once, however often it is asked)."""
    source = _source(pk)
    try:
        said = sources.sync_now(source, actor=request.user)
    except Forbidden as error:
        raise PermissionDenied(error.message) from error
    messages.success(request, said)
    return redirect("catalog:source_detail", pk=source.pk)


@login_required
@require_POST
def source_rotate_secret(request: HttpRequest, pk: int) -> HttpResponse:
    """A new webhook secret, shown once; the old one stops working."""
    source = _source(pk)
    try:
        secret = sources.rotate_webhook_secret(source, actor=request.user)
    except Forbidden as error:
        raise PermissionDenied(error.message) from error
    return _secret_page(request, source, secret, created=False)


@login_required
@require_POST
def source_version_status(request: HttpRequest, pk: int, version_pk: int) -> HttpResponse:
    """Deprecate, withdraw or reactivate one of the source's versions."""
    source = _source(pk)
    version = get_object_or_404(
        TemplateVersion.objects.select_related("template").only(
            "pk", "number", "label", "status", "template__slug", "source_id"
        ),
        pk=version_pk,
        source=source,
    )
    form = VersionStatusForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(f"{name}: {' '.join(map(str, e))}" for name, e in form.errors.items())
        messages.error(request, f"Not changed: {errors}")
        return redirect("catalog:source_detail", pk=source.pk)
    try:
        changed = sources.set_version_status(
            version,
            form.cleaned_data["status"],
            actor=request.user,
            reason=form.cleaned_data["reason"],
        )
    except Forbidden as error:
        raise PermissionDenied(error.message) from error
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"{changed.template.slug} {changed.display} is now {changed.status}.",
        )
    return redirect("catalog:source_detail", pk=source.pk)
