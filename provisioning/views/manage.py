"""Portal actions of a team on its own resources beyond the lifecycle: archive, unarchive."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from idp.services import ServiceError

from .. import actions
from ..access import resource_queryset
from ..models import Resource


def _resource(request: HttpRequest, pk: int) -> Resource:
    # Archived resources stay reachable by id; another team's answer 404.
    return get_object_or_404(resource_queryset(request.user), pk=pk)


@login_required
@require_POST
def resource_archive(request: HttpRequest, pk: int) -> HttpResponse:
    """Archive a failed or rejected request; the list follows, where it no longer shows."""
    resource = _resource(request, pk)
    try:
        archived = actions.archive(resource, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(resource)
    messages.success(request, archived.message)
    return redirect(reverse("provisioning:resource_list"))


@login_required
@require_POST
def resource_unarchive(request: HttpRequest, pk: int) -> HttpResponse:
    """Bring an archived resource back into the lists."""
    resource = _resource(request, pk)
    try:
        unarchived = actions.unarchive(resource, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(resource)
    messages.success(request, unarchived.message)
    return redirect(unarchived.resource)
