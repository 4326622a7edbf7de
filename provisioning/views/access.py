"""The resource's access page: team admins restrict it and share it with other teams."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from idp.form_errors import add_service_error
from idp.models import Membership, Team
from idp.services import ServiceError

from .. import actions
from ..access import resource_queryset
from ..forms import AccessForm


@login_required
def resource_access(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the form with the resource's restriction and shares; POST: replace them."""
    resource = get_object_or_404(resource_queryset(request.user), pk=pk)
    refusal = actions.access_refusal(resource, request.user)
    if refusal is not None:
        raise PermissionDenied(refusal.message)
    current = actions.access_of(resource)
    members = sorted(
        Membership.objects.filter(team=resource.team).values_list("user__username", flat=True)
    )
    teams = list(Team.objects.exclude(pk=resource.team_id).values_list("slug", flat=True))
    initial = {
        "restricted": current.restricted_to is not None,
        "restricted_role": (current.restricted_to.role or "") if current.restricted_to else "",
        "restricted_users": current.restricted_to.users if current.restricted_to else [],
        "shared_read": [s.team for s in current.shared_with if s.level == "read"],
        "shared_use": [s.team for s in current.shared_with if s.level == "use"],
    }
    form = AccessForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        members=members,
        teams=teams,
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                access = actions.set_access(resource, actor=request.user, **form.access())
            except ServiceError as error:
                if error.status != 400:
                    raise PermissionDenied(error.message) from error
                add_service_error(error, form)
            else:
                messages.success(request, f"Access of {resource.name}: {access.summary}")
                return redirect(resource)
        status = 400
    context = {"resource": resource, "form": form, "access": current}
    return render(request, "provisioning/resource_access.html", context, status=status)
