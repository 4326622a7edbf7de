"""Portal pages of fleet upgrades: the list, starting one, its live progress, controls."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from idp.services import ServiceError

from . import actions
from .choices import FLEET_ACTIVE
from .forms import FleetStartForm
from .presenters import detail_json


@login_required
def fleet_list(request: HttpRequest) -> HttpResponse:
    fleets = list(actions.visible(request.user)[:100])
    counts = actions.status_counts(fleets)
    rows = [(f, actions.progress(f, counts[f.pk])) for f in fleets]
    return render(request, "fleet/list.html", {"rows": rows})


@login_required
def fleet_new(request: HttpRequest) -> HttpResponse:
    """Start a fleet upgrade; the action decides who may select what."""
    form = FleetStartForm(request.POST or None, initial=request.GET or None)
    if request.method == "POST" and form.is_valid():
        try:
            fleet = actions.start_fleet_upgrade(actor=request.user, **form.action_arguments())
        except ServiceError as error:
            # The action's field when the form has it (teams, waves…), else the whole form.
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, f"Fleet upgrade {fleet.pk} started: planning.")
            return redirect(fleet)
    return render(request, "fleet/new.html", {"form": form})


@login_required
def fleet_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The fleet upgrade; its live part polls itself (htmx) while it is at work."""
    fleet = actions.get_fleet(request.user, pk)
    context = {"fleet": fleet, "data": detail_json(fleet, user=request.user)}
    context["active"] = fleet.status in FLEET_ACTIVE
    if request.headers.get("HX-Request"):
        return render(request, "fleet/_live.html", context)
    return render(request, "fleet/detail.html", context)


def _control(request: HttpRequest, pk: int, verb: str) -> HttpResponse:
    fleet = actions.get_fleet(request.user, pk)
    reason = request.POST.get("reason", "")
    try:
        if verb == "pause":
            actions.pause(fleet, actor=request.user, reason=reason)
        elif verb == "resume":
            actions.resume(fleet, actor=request.user)
        else:
            actions.cancel(fleet, actor=request.user, reason=reason)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Fleet upgrade {fleet.pk}: {verb} done.")
    return redirect(fleet)


@login_required
@require_POST
def fleet_pause(request: HttpRequest, pk: int) -> HttpResponse:
    return _control(request, pk, "pause")


@login_required
@require_POST
def fleet_resume(request: HttpRequest, pk: int) -> HttpResponse:
    return _control(request, pk, "resume")


@login_required
@require_POST
def fleet_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _control(request, pk, "cancel")
