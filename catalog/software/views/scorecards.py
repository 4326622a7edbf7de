"""Portal pages of the scorecards: the organisation, a team, a service, and a service's badge.

Every page scores the services the user can see (`Service.objects.for_user`) now, and draws
the trend from the stored daily results (`catalog.score_services`)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from catalog.choices import ScoreLevel
from catalog.models import ScorecardResult, Service
from idp.models import Team

from ..services import scorecards

TREND_DAYS = (30, 90)
LEVEL_COLOURS = {
    ScoreLevel.NONE: "#9ca3af",
    ScoreLevel.BRONZE: "#b4691f",
    ScoreLevel.SILVER: "#6b7c93",
    ScoreLevel.GOLD: "#d4a017",
}


def _days(request: HttpRequest) -> int:
    try:
        days = int(request.GET.get("days", TREND_DAYS[0]))
    except ValueError:
        return TREND_DAYS[0]
    return days if days in TREND_DAYS else TREND_DAYS[0]


def _trend_chart(chart_id: str, title: str, results: Any, days: int) -> dict[str, Any]:
    """The services-per-level trend in the shape monitoring's chart partial draws."""
    trend = scorecards.level_trend(results, days)
    levels = list(reversed(list(trend["levels"])))  # gold first in the legend
    rows = [
        [day, *(trend["levels"][level][i] for level in levels)]
        for i, day in enumerate(trend["days"])
        if any(trend["levels"][level][i] for level in levels)
    ]
    return {
        "id": chart_id,
        "title": title,
        "columns": ["Day", *(ScoreLevel(level).label for level in levels)],
        "rows": rows,
        "data": {
            "type": "line",
            "labels": trend["days"],
            "datasets": [
                {
                    "label": ScoreLevel(level).label,
                    "data": trend["levels"][level],
                    "borderColor": LEVEL_COLOURS[level],
                    "backgroundColor": LEVEL_COLOURS[level],
                    "tension": 0,
                }
                for level in levels
            ],
        },
    }


def _overview(
    request: HttpRequest, services: Any, results: Any, *, title: str, team: Team | None
) -> HttpResponse:
    days = _days(request)
    scores = scorecards.score_services(services)
    counts = scorecards.level_counts(scores)
    level = request.GET.get("level", "").strip()
    shown = [s for s in scores if not level or s.level == level]
    page = Paginator(shown, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "catalog/scorecards/overview.html",
        {
            "title": title,
            "team": team,
            "counts": counts,
            "total": len(scores),
            "page_obj": page,
            "level": level,
            "levels": ScoreLevel.choices,
            "days": days,
            "day_choices": TREND_DAYS,
            "chart": _trend_chart(
                "scorecard-trend", f"Services per level, last {days} days", results, days
            ),
            "teams": Team.objects.for_user(request.user).order_by("slug").only("slug", "name")
            if team is None
            else None,
            "section": "catalog",
        },
    )


@login_required
def scorecard_overview(request: HttpRequest) -> HttpResponse:
    services = Service.objects.for_user(request.user).filter(archived=False).select_related("team")
    results = ScorecardResult.objects.filter(service__in=services)
    return _overview(request, services.order_by("slug"), results, title="Scorecards", team=None)


@login_required
def scorecard_team(request: HttpRequest, slug: str) -> HttpResponse:
    team = get_object_or_404(Team.objects.for_user(request.user), slug=slug)
    services = Service.objects.filter(team=team, archived=False).select_related("team")
    results = ScorecardResult.objects.filter(service__team=team, service__archived=False)
    return _overview(
        request, services.order_by("slug"), results, title=f"Scorecards of {team.name}", team=team
    )


def _visible_service(request: HttpRequest, slug: str) -> Service:
    return get_object_or_404(
        Service.objects.for_user(request.user).select_related("team"), slug=slug
    )


@login_required
def scorecard_service(request: HttpRequest, slug: str) -> HttpResponse:
    service = _visible_service(request, slug)
    days = _days(request)
    score = scorecards.evaluate_service(service)
    return render(
        request,
        "catalog/scorecards/service.html",
        {
            "service": service,
            "score": score,
            "days": days,
            "day_choices": TREND_DAYS,
            "trend": scorecards.service_trend(service, days),
            "section": "catalog",
        },
    )


@login_required
def scorecard_badge(request: HttpRequest, slug: str) -> HttpResponse:
    """The badge the service page loads (htmx), scored now."""
    service = _visible_service(request, slug)
    return render(
        request,
        "catalog/scorecards/_badge.html",
        {"service": service, "score": scorecards.evaluate_service(service)},
    )
