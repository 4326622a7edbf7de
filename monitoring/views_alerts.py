"""Portal: the alerts page (alarm state changes delivered by SNS) and acknowledging one."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from idp.models import Team
from idp.services import ServiceError

from .models import AlarmEvent, AlertChannel, TeamTopic
from .services import sns

STATES = ("ALARM", "OK", "INSUFFICIENT_DATA")


@login_required
def alerts(request: HttpRequest) -> HttpResponse:
    """Your teams' alarm history, newest first; filter by team, state and open ones."""
    events = AlarmEvent.objects.for_user(request.user).select_related(
        "team", "resource", "acknowledged_by"
    )
    teams = Team.objects.for_user(request.user)
    team = request.GET.get("team", "")
    if team:
        events = events.filter(team__slug=team)
    state = request.GET.get("state", "")
    if state in STATES:
        events = events.filter(new_state=state)
    if request.GET.get("open"):
        events = events.filter(acknowledged_at=None)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "monitoring/alerts.html",
        {
            "page": page,
            "teams": teams,
            "team": team,
            "state": state,
            "states": STATES,
            "open": bool(request.GET.get("open")),
            "channels": AlertChannel.objects.for_user(request.user).select_related("team"),
            "topics": TeamTopic.objects.for_user(request.user).select_related(
                "team", "environment"
            ),
        },
    )


@login_required
@require_POST
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    """Acknowledge one alarm event (a member of its team)."""
    event = get_object_or_404(AlarmEvent.objects.for_user(request.user), pk=pk)
    try:
        sns.acknowledge(event, actor=request.user)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{event.alarm_name} acknowledged.")
    return redirect("monitoring:alerts")
