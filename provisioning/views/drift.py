"""Portal buttons of a drifted resource: reconcile it, or accept its real values."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from idp.services import ServiceError

from ..access import resource_queryset
from ..actions import drift
from ..actions.results import PlanStarted
from ..models import Resource


def _drift_action(act: Callable[..., PlanStarted]) -> Callable[..., HttpResponse]:
    """A POST-only view calling a drift action; the resource's page follows (it shows the
    plan, then the apply), with what the action says it did."""

    @login_required
    @require_POST
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        # Another team's resource answers 404.
        resource: Resource = get_object_or_404(resource_queryset(request.user), pk=pk)
        try:
            started = act(resource, actor=request.user)
        except ServiceError as error:
            if error.status == 403:
                raise PermissionDenied(error.message) from error
            messages.error(request, error.message)
            return redirect(resource)
        messages.success(request, started.message)
        return redirect(started.resource)

    view.__name__ = f"resource_{act.__name__}"
    return view


resource_reconcile = _drift_action(drift.reconcile)
resource_accept_drift = _drift_action(drift.accept_drift)
