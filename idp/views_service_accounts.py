"""Service accounts on the team page: maintainers create them, give them tokens (shown
once) and disable them; the rules are `idp/service_accounts.py`'s."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from . import service_accounts, services
from .form_errors import add_service_error
from .forms import ServiceAccountForm, ServiceAccountTokenForm
from .models import ServiceAccount
from .views import _team_for, _team_page, forbidden

NEW_TOKEN = "new_service_account_token"


def _back(slug: str) -> HttpResponse:
    return redirect(reverse("team_detail", args=[slug]) + "#service-accounts")


def _account(request: HttpRequest, slug: str, name: str) -> ServiceAccount:
    return get_object_or_404(
        ServiceAccount.objects.for_user(request.user).select_related("team", "user"),
        team__slug=slug,
        name=name,
    )


@login_required
@require_POST
def service_account_create(request: HttpRequest, slug: str) -> HttpResponse:
    team = _team_for(request, slug)
    form = ServiceAccountForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            account = service_accounts.create_service_account(
                team,
                data["name"],
                description=data["description"],
                role=data["role"],
                actor=request.user,
            )
        except services.Forbidden as exc:
            return forbidden(request, exc.message)
        except services.ServiceError as exc:
            add_service_error(exc, form)
        else:
            messages.success(request, f"Service account {account.user.get_username()} created.")
            return _back(slug)
    return _team_page(request, team, sa_form=form, status=400)


@login_required
@require_POST
def service_account_token(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    account = _account(request, slug, name)
    form = ServiceAccountTokenForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the token a name.")
        return _back(slug)
    try:
        token, raw = service_accounts.create_service_account_token(
            account,
            name=form.cleaned_data["name"],
            lifetime=services.parse_token_lifetime(form.cleaned_data["expires_in"] or "90d"),
            actor=request.user,
        )
    except services.Forbidden as exc:
        return forbidden(request, exc.message)
    except services.ServiceError as exc:
        messages.error(request, exc.message)
        return _back(slug)
    # Shown once, on the next page, then gone (only its hash is stored).
    request.session[NEW_TOKEN] = {"account": account.user.get_username(), "token": raw}
    messages.success(request, f"Token “{token.name}” of {account.user.get_username()} created.")
    return _back(slug)


@login_required
@require_POST
def service_account_enable(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    account = _account(request, slug, name)
    enabled = request.POST.get("enabled") == "1"
    try:
        service_accounts.set_service_account_enabled(account, enabled, actor=request.user)
    except services.Forbidden as exc:
        return forbidden(request, exc.message)
    verb = "enabled" if enabled else "disabled: its tokens no longer work"
    messages.success(request, f"{account.user.get_username()} {verb}.")
    return _back(slug)
