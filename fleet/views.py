"""Portal pages of fleet upgrades: the list, starting one, its live progress, controls."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from idp.services import ServiceError

from . import actions
from .choices import FLEET_ACTIVE
from .forms import FleetStartForm
from .models import FleetUpgrade
from .presenters import detail_json

# Resources listed in the preview (the count covers them all).
PREVIEW_ROWS = 50


@login_required
def fleet_list(request: HttpRequest) -> HttpResponse:
    fleets = list(actions.visible(request.user)[:100])
    counts = actions.status_counts(fleets)
    rows = [(f, actions.progress(f, counts[f.pk])) for f in fleets]
    return render(request, "fleet/list.html", {"rows": rows})


@login_required
def fleet_new(request: HttpRequest) -> HttpResponse:
    """Start a fleet upgrade; the action decides who may select what. GET ?template=…
    renders the form for that template (htmx swaps it in when the template changes)."""
    form = FleetStartForm(
        request.POST or None, initial=request.GET.dict() or None, user=request.user
    )
    if request.method == "POST" and form.is_valid():
        try:
            fleet = actions.start_fleet_upgrade(actor=request.user, **form.action_arguments())
        except ServiceError as error:
            # The action's field when the form has it (teams, waves…), else the whole form.
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, f"Fleet upgrade {fleet.pk} started: planning.")
            return redirect(fleet)
    # A fresh form: an action's error removed its field from this one's cleaned data.
    shown = FleetStartForm(request.POST, user=request.user) if form.is_bound else form
    return render(request, "fleet/new.html", {"form": form, **_preview_context(request, shown)})


def _preview_context(request: HttpRequest, form: FleetStartForm) -> dict[str, Any]:
    """What the filters select now (the htmx preview beside the form), or why nothing."""
    if not form.is_bound:
        return {"preview": None, "preview_error": None}
    form.is_valid()  # the filters are read even when, say, the parallelism is out of range
    data = form.cleaned_data
    if "template" not in data:
        return {"preview": None, "preview_error": "Choose a template."}
    try:
        preview = actions.preview_fleet_upgrade(
            actor=request.user,
            template=data["template"],
            version=data.get("version") or None,
            selection=form.selection(),
        )
    except ServiceError as error:
        return {"preview": None, "preview_error": error.message}
    rows = preview.resources[:PREVIEW_ROWS]
    more = len(preview.resources) - len(rows)
    return {"preview": preview, "preview_error": None, "rows": rows, "more": more}


@login_required
@require_GET
def fleet_preview(request: HttpRequest) -> HttpResponse:
    """The htmx partial of the form: the matching resources and their count, those skipped
    because they already run the target version, or why the selection is refused."""
    form = FleetStartForm(request.GET, user=request.user)
    return render(request, "fleet/_preview.html", _preview_context(request, form))


@login_required
def fleet_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The fleet upgrade; its live part polls itself (htmx) while it is at work."""
    fleet = actions.get_fleet(request.user, pk)
    if request.headers.get("HX-Request"):
        return render(request, "fleet/_live.html", _live_context(request, fleet))
    return render(request, "fleet/detail.html", _live_context(request, fleet))


def _live_context(request: HttpRequest, fleet: FleetUpgrade, **extra: Any) -> dict[str, Any]:
    return {
        "fleet": fleet,
        "data": detail_json(fleet, user=request.user),
        "active": fleet.status in FLEET_ACTIVE,
        **extra,
    }


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
        notice, kind = error.message, "bad"
    else:
        notice, kind = f"Fleet upgrade {fleet.pk}: {verb} done.", "ok"
    if request.headers.get("HX-Request"):
        # In place: the live part comes back with the new controls, still polling.
        fresh = actions.get_fleet(request.user, fleet.pk)
        context = _live_context(request, fresh, notice=notice, notice_kind=kind)
        return render(request, "fleet/_live.html", context)
    (messages.error if kind == "bad" else messages.success)(request, notice)
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
