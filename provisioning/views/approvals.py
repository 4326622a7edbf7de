"""The approvals inbox page: the plans awaiting my decision, approved right from the list.

Which plans await whom is `actions.inbox_items` (the approval policy's answer); approving
is `actions.approve` naming the plan run shown, so a decision never lands on a newer plan.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from idp.services import ServiceError

from .. import actions
from ..actions import inbox
from ..choices import RunKind
from ..context_processors import BADGE_KEY
from ..forms import ApproveForm
from ..models import Run

INBOX_PAGE_SIZE = 50


@login_required
def approvals(request: HttpRequest) -> HttpResponse:
    """Plans awaiting my decision, riskiest first, then the approval window closing soonest."""
    page, plans = inbox.page(request.user, request.GET.get("page"), INBOX_PAGE_SIZE)
    # The navigation's badge is this count (past its limit it shows "99+"): not counted twice.
    request.__dict__[BADGE_KEY] = page.paginator.count
    items = inbox.describe(plans)
    return render(request, "provisioning/approvals.html", {"items": items, "page_obj": page})


@login_required
@require_POST
def approval_approve(request: HttpRequest, plan_run: int) -> HttpResponse:
    """Approve exactly plan run `plan_run` (another team's plan answers 404); back to the
    inbox with what happened."""
    plan = get_object_or_404(
        Run.objects.for_user(request.user).filter(kind=RunKind.PLAN).select_related("resource"),
        pk=plan_run,
    )
    resource = plan.resource
    form = ApproveForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        decision = actions.approve(resource, actor=request.user, reason=reason, plan_run=plan.pk)
    except ServiceError as error:
        messages.error(request, f"{resource.name}: {error.message}")
        return redirect("provisioning:approvals")
    messages.success(request, decision.message)
    return redirect("provisioning:approvals")
