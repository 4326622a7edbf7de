"""Portal pages: team and platform dashboards, the budget form, CSV downloads, resource panel."""

from __future__ import annotations

import csv
import re
from typing import TYPE_CHECKING, Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from idp.form_errors import add_service_error
from idp.models import Team
from idp.rbac import has_team_perm, is_platform_admin
from idp.services import ServiceError

from . import dashboards
from .forms import BudgetForm, thresholds_text
from .models import AlarmState, Alert, Budget, Collection, LogShipment, MetricSample
from .services import budgets
from .services.analytics import parse_period
from .services.cloudwatch_logs import console_url
from .services.metrics import METRIC_SETS, resource_type
from .services.rightsizing import hints_for, hints_for_many

if TYPE_CHECKING:
    from provisioning.models import Resource


def _period(request: HttpRequest) -> int:
    return parse_period(request.GET.get("period"))


def _bad_period(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    return HttpResponseBadRequest(exc.message)


# Characters of a metric name that never go into a download's file name.
UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9_.-]")


COST_CHARTS = [
    ("daily", "Cost over time (USD per day)", "line"),
    ("team", "Cost by team", "bar"),
    ("service", "Cost by service", "bar"),
    ("environment", "Cost by environment", "bar"),
    ("template", "Cost by template", "bar"),
]


def _charts(slug: str, tables: dict[str, Any], days: int, skip: tuple[str, ...] = ()) -> list:
    return [
        dashboards.chart(
            name,
            title,
            tables[name],
            dashboards.COLUMNS[name],
            kind=kind,
            csv_url=reverse("monitoring:csv", args=[slug, name]) + f"?period={days}",
        )
        for name, title, kind in COST_CHARTS
        if name not in skip
    ]


USAGE_CHARTS = [
    ("lead_time", "Lead time request → provisioned per template (minutes)"),
    ("requests", "Requests per template"),
]


def _usage_charts(slug: str, usage: dict[str, Any], days: int) -> list[dict[str, Any]]:
    return [
        dashboards.chart(
            name,
            title,
            dashboards.table(usage, name),
            dashboards.COLUMNS[name][:3] if name == "lead_time" else dashboards.COLUMNS[name],
            kind="bar",
            csv_url=reverse("monitoring:csv", args=[slug, name]) + f"?period={days}",
        )
        for name, title in USAGE_CHARTS
    ]


def _team(request: HttpRequest, slug: str) -> Team:
    return get_object_or_404(Team.objects.for_user(request.user), slug=slug)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Platform admins: every team's costs and usage. Others: a summary card per team."""
    try:
        days = _period(request)
    except ServiceError as exc:
        return _bad_period(request, exc)
    teams = list(Team.objects.for_user(request.user))
    context: dict[str, Any] = {
        "days": days,
        "periods": (7, 30, 90),
        "summaries": [dashboards.summary(t) for t in teams],
        "is_platform": is_platform_admin(request.user),
    }
    if context["is_platform"]:
        context["charts"] = _charts("all", dashboards.cost_tables(None, days), days)
        context["usage"] = dashboards.usage(request.user, None, days)
        context["charts"].extend(_usage_charts("all", context["usage"], days))
        context["alerts"] = Alert.objects.select_related("team")[:20]
        context["collections"] = Collection.objects.all()[:10]
    return render(request, "monitoring/dashboard.html", context)


@login_required
def team_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    """A team's costs, budget burn-down, alerts, usage and right-sizing hints."""
    team = _team(request, slug)
    try:
        days = _period(request)
    except ServiceError as exc:
        return _bad_period(request, exc)
    from provisioning.models import Resource

    usage = dashboards.usage(request.user, team, days)
    charts = _charts(team.slug, dashboards.cost_tables(team, days), days, skip=("team",))
    burn = dashboards.burn_down(team)
    if burn:
        charts.insert(
            0,
            dashboards.chart(
                "burn",
                "Budget burn-down this month (USD)",
                burn,
                dashboards.COLUMNS["burn"],
                csv_url=reverse("monitoring:csv", args=[team.slug, "burn"]),
            ),
        )
    charts.extend(_usage_charts(team.slug, usage, days))
    return render(
        request,
        "monitoring/team_dashboard.html",
        {
            "team": team,
            "days": days,
            "periods": (7, 30, 90),
            "summary": dashboards.summary(team),
            "charts": charts,
            "usage": usage,
            "alerts": Alert.objects.filter(team=team)[:20],
            "hints": hints_for_many(Resource.objects.filter(team=team)),
            "can_manage": has_team_perm(request.user, team, "manage_team"),
        },
    )


@login_required
def budget_edit(request: HttpRequest, slug: str) -> HttpResponse:
    """Create or change the team's budget (team admins)."""
    team = _team(request, slug)
    if not has_team_perm(request.user, team, "manage_team"):
        raise PermissionDenied(f"Only team admins manage budgets: ask an admin of {team.name}.")
    budget = Budget.objects.filter(team=team).first()
    if request.method == "POST":
        form = BudgetForm(request.POST)
        if form.is_valid():
            try:
                budgets.save_budget(
                    team,
                    monthly_amount=form.cleaned_data["monthly_amount"],
                    thresholds=form.cleaned_data["thresholds"],
                    actor=request.user,
                )
            except ServiceError as exc:
                add_service_error(exc, form)
            else:
                return redirect("monitoring:team_dashboard", slug=team.slug)
    else:
        initial = {}
        if budget:
            initial = {
                "monthly_amount": budget.monthly_amount,
                "thresholds": thresholds_text(budget.thresholds),
            }
        form = BudgetForm(initial=initial)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "monitoring/budget_form.html",
        {"team": team, "form": form, "budget": budget},
        status=status,
    )


@login_required
def csv_download(request: HttpRequest, slug: str, dataset: str) -> HttpResponse:
    """A chart's table as CSV; slug "all" is the platform-wide view (platform admins)."""
    if dataset not in dashboards.COLUMNS:
        raise Http404("No such table")
    try:
        days = _period(request)
    except ServiceError as exc:
        return _bad_period(request, exc)
    if slug == "all":
        if not is_platform_admin(request.user):
            raise Http404("No such team")
        team = None
    else:
        team = _team(request, slug)
    if dataset == "burn":
        rows = dashboards.burn_down(team) if team else []
    elif dataset in ("lead_time", "requests"):
        rows = dashboards.table(dashboards.usage(request.user, team, days), dataset)
    else:
        rows = dashboards.cost_tables(team, days)[dataset]
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{slug}-{dataset}-{days}d.csv"'
    writer = csv.DictWriter(response, fieldnames=dashboards.COLUMNS[dataset], extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return response


@login_required
def resource_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """A resource's alarms, right-sizing hints and metric charts (an htmx partial)."""
    from provisioning.models import Resource

    resource = get_object_or_404(
        Resource.objects.for_user(request.user).select_related(
            "team", "template", "template_version", "environment"
        ),
        pk=pk,
    )
    rtype = resource_type(resource)
    charts = []
    for spec in METRIC_SETS.get(rtype or "", []):
        points = list(
            MetricSample.objects.filter(resource=resource, metric=spec.metric)
            .order_by("-timestamp")
            .values("timestamp", "value")[:288]
        )[::-1]
        if points:
            rows = [
                {"time": p["timestamp"].strftime("%Y-%m-%d %H:%M"), "value": p["value"]}
                for p in points
            ]
            title = f"{spec.metric} ({spec.statistic}{', ' + spec.unit if spec.unit else ''})"
            csv_url = (
                reverse("monitoring:resource_csv", args=[resource.pk]) + f"?metric={spec.metric}"
            )
            charts.append(
                dashboards.chart(
                    f"metric-{spec.metric}", title, rows, ["time", "value"], csv_url=csv_url
                )
            )
    partial = bool(getattr(request, "htmx", False))
    return render(
        request,
        "monitoring/resource_panel.html" if partial else "monitoring/resource_panel_page.html",
        {
            "partial": partial,
            "resource": resource,
            "alarms": AlarmState.objects.filter(resource=resource),
            "hints": hints_for(resource),
            "charts": charts,
            "log_shipments": _log_shipments(resource),
        },
    )


def _log_shipments(resource: Resource) -> list[LogShipment]:
    """The resource's newest runs shipped to CloudWatch Logs, each with its console link."""
    region = resource.environment.aws_region
    shipments = list(LogShipment.objects.filter(run__resource=resource).select_related("run")[:5])
    for shipment in shipments:
        shipment.console_url = console_url(shipment, region)  # type: ignore[attr-defined]
    return shipments


def _known_metrics(resource: Resource) -> list[str]:
    """The metrics a resource can have: its type's, and any stored for it."""
    names = {spec.metric for spec in METRIC_SETS.get(resource_type(resource) or "", [])}
    names.update(
        MetricSample.objects.filter(resource=resource).values_list("metric", flat=True).distinct()
    )
    return sorted(names)


@login_required
def resource_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """One metric of a resource as CSV; the metric must be one the resource has."""
    from provisioning.models import Resource

    resource = get_object_or_404(
        Resource.objects.for_user(request.user).select_related("template", "template_version"),
        pk=pk,
    )
    known = _known_metrics(resource)
    metric = request.GET.get("metric", "")
    if metric not in known:
        # The raw input is never echoed back, nor put into a header.
        reason = f"choose one of {', '.join(known)}" if known else "this resource has no metrics"
        return HttpResponseBadRequest(f"metric: {reason}.", content_type="text/plain")
    filename = f"resource-{resource.pk}-{UNSAFE_IN_FILENAME.sub('_', metric)[:50]}.csv"
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(["timestamp", "metric", "statistic", "value", "unit"])
    for sample in MetricSample.objects.filter(resource=resource, metric=metric).order_by(
        "timestamp"
    ):
        writer.writerow(
            [
                sample.timestamp.isoformat(),
                sample.metric,
                sample.statistic,
                sample.value,
                sample.unit,
            ]
        )
    return response
