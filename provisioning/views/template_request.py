"""The request form of a template (the catalog's page for asking for a resource): rendered
from the version's JSON Schema, priced as it is typed, and submitted to `request_resource`."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from catalog import services
from catalog.forms import ParametersForm, RequestForm
from catalog.models import Template, TemplateVersion
from catalog.services.costs import estimate_monthly_cost, request_cost
from idp.form_errors import add_service_error
from idp.services import ServiceError

from ..actions import request_resource
from .params import resource_candidates

logger = logging.getLogger(__name__)


def _template(slug: str) -> Template:
    return get_object_or_404(
        Template.objects.select_related("owner_team", "current_version").defer(
            "current_version__files"
        ),
        slug=slug,
    )


def _estimate(version: TemplateVersion, params: dict[str, Any]) -> Decimal | None:
    try:
        return estimate_monthly_cost(version, params)
    except Exception:  # the estimate is a hint; the form works without it
        logger.warning("cost estimate failed for %s", version, exc_info=True)
        return None


def _priced(version: TemplateVersion, params: dict[str, Any]) -> dict[str, Any] | None:
    """The request priced from the price catalog when every resource of the module could
    be priced (else the template's cost hints are the estimate)."""
    cost = request_cost(version, params)
    return cost if cost and cost["lines"] and not cost["unpriced"] else None


@login_required
def template_request(request: HttpRequest, slug: str) -> HttpResponse:
    """The request form of a template, rendered from its JSON Schema and checked on the server."""
    template = _template(slug)
    try:
        version = services.resolve_version(template.slug, request.GET.get("version") or None)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(template)
    data = request.POST if request.method == "POST" else None
    request_form = RequestForm(request.user, version, data)
    params_form = ParametersForm(
        version.parameters_schema, data, candidates=resource_candidates(request.user)
    )
    if request.method == "POST" and _submit(request, template, version, request_form, params_form):
        return redirect(request_form.resource.get_absolute_url())  # type: ignore[attr-defined]
    return render(
        request,
        "catalog/template_request.html",
        {
            "template": template,
            "version": version,
            "form": request_form,
            "params_form": params_form,
            "estimate": _estimate(version, _estimate_parameters(params_form)),
            "priced": _priced(version, _estimate_parameters(params_form)),
            "ttl_environments": request_form.ttl_environments,
            "sensitive_fields": _sensitive_fields(params_form),
        },
        status=400 if request.method == "POST" else 200,
    )


def _estimate_parameters(params_form: ParametersForm) -> dict[str, Any]:
    """The values the estimate prices: those the user typed that parse, defaults for the rest."""
    if not params_form.is_bound:
        return {}
    params_form.is_valid()  # cleaned_data keeps every field that parsed
    return params_form.parameters()


def _sensitive_fields(params_form: ParametersForm) -> str:
    """htmx `hx-params` excluding secrets: the estimate never needs them."""
    names = [
        params_form[name].html_name
        for name, field in params_form.fields.items()
        if getattr(field, "sensitive", False)
    ]
    return "not " + ",".join(["csrfmiddlewaretoken", *names])


@login_required
@require_POST
def template_estimate(request: HttpRequest, slug: str) -> HttpResponse:
    """The request form's cost estimate for the parameters as they are typed (htmx partial):
    the module's resources priced from the price catalog as its plan will be, else the
    template's cost hints (the budget gate's stand-in before a plan)."""
    template = _template(slug)
    try:
        version = services.resolve_version(template.slug, request.GET.get("version") or None)
    except ServiceError:
        return HttpResponse(status=404)
    params_form = ParametersForm(version.parameters_schema, request.POST)
    values = _estimate_parameters(params_form)
    return render(
        request,
        "catalog/_estimate.html",
        {"estimate": _estimate(version, values), "priced": _priced(version, values)},
    )


class _FormRefused(Exception):
    """The parameters form refused a value: nothing the action did is kept."""


def _submit(
    request: HttpRequest,
    template: Template,
    version: TemplateVersion,
    request_form: RequestForm,
    params_form: ParametersForm,
) -> bool:
    if not request_form.is_valid():
        params_form.is_valid()  # its own errors show beside the request form's
        return False
    params_ok = params_form.is_valid()
    data = request_form.cleaned_data
    try:
        # Every rule (name, service, environment, expiry, parameters) is the action's; it
        # reports all its refusals at once, shown by their fields. When the form already
        # refused a parameter, the action still runs for its other refusals, and whatever
        # it would have recorded is rolled back.
        with transaction.atomic():
            requested = request_resource(
                actor=request.user,
                template=template,
                version=version,
                team=data["team"],
                environment=data["environment"],
                name=data["name"],
                parameters=params_form.parameters(),
                service=data.get("service"),
                expires_at=data.get("expires_at"),
            )
            if not params_ok:
                raise _FormRefused
    except _FormRefused:
        return False
    except ServiceError as exc:
        # A parameter the form already refused keeps the form's message only.
        add_service_error(exc, request_form, params_form, skip=params_form.errors)
        return False
    request_form.resource = requested.resource  # type: ignore[attr-defined]
    messages.success(request, requested.message)
    return True
