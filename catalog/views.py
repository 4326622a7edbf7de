"""Portal pages of the template registry: the catalog's list and template pages (a template's
request form is provisioning's: provisioning/views/template_request.py; services are the software
catalog's: catalog/software/views/services.py)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from idp.models import Team
from idp.paginator import CountCachingPaginator
from idp.templatetags.values import format_money, to_json_text

from . import sensitivity
from .models import Template, TemplateVersion
from .rendering import render_markdown
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
