"""Portal action on a plan its policies hold: a platform admin's override."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from idp.form_errors import add_service_error
from idp.services import ServiceError

from .. import actions
from ..forms import OverridePolicyForm
from .resources import OVERRIDE_ID, _detail_context, _page_resource, _resource


@login_required
@require_POST
def resource_override_policy(request: HttpRequest, pk: int) -> HttpResponse:
    """Let the plan past the overridable policies it fails (reason required); the page
    re-shows with the error by the field when the reason is missing."""
    resource = _resource(request, pk)
    form = OverridePolicyForm(request.POST, auto_id=OVERRIDE_ID)
    if form.is_valid():
        try:
            overridden = actions.override_policy(resource, actor=request.user, **form.cleaned_data)
        except ServiceError as error:
            if error.field != "reason":
                messages.error(request, error.message)
                return redirect(resource)
            add_service_error(error, form)
        else:
            messages.success(request, overridden.message)
            return redirect(resource)
    context = _detail_context(request, _page_resource(request, pk), override_form=form)
    return render(request, "provisioning/resource_detail.html", context, status=400)
