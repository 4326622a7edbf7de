"""Portal pages for the signed-in user, teams, memberships and the audit log."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from . import services
from .forms import MemberAddForm, MemberRoleForm, TokenCreateForm
from .models import APIToken, AuditEvent, Membership, Team
from .rbac import has_team_perm


def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return render(request, "404.html", status=404)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    memberships = Membership.objects.filter(user=request.user).select_related("team")
    return render(request, "idp/home.html", {"memberships": memberships})


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    tokens = APIToken.objects.filter(user=request.user)
    memberships = Membership.objects.filter(user=request.user).select_related("team")
    return render(
        request,
        "idp/profile.html",
        {
            "tokens": tokens,
            "memberships": memberships,
            "form": TokenCreateForm(),
            "new_token": request.session.pop("new_api_token", None),
        },
    )


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    form = TokenCreateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the token a name of at most 100 characters.")
        return redirect("profile")
    _, raw = services.create_api_token(request.user, name=form.cleaned_data["name"], actor=request.user)
    # Shown once on the next page, then gone from the session.
    request.session["new_api_token"] = raw
    return redirect("profile")


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(APIToken, pk=pk, user=request.user)
    services.revoke_api_token(token, actor=request.user)
    messages.success(request, f"Token {token.key_prefix}… revoked.")
    return redirect("profile")


@login_required
def team_list(request: HttpRequest) -> HttpResponse:
    teams = Team.objects.for_user(request.user).annotate(member_count=Count("memberships"))
    query = request.GET.get("q", "").strip()
    if query:
        teams = teams.filter(name__icontains=query) | teams.filter(slug__icontains=query)
    page = Paginator(teams.order_by("slug"), 50).get_page(request.GET.get("page"))
    return render(request, "idp/team_list.html", {"page_obj": page, "q": query})


def _team_for(request: HttpRequest, slug: str) -> Team:
    return get_object_or_404(Team.objects.for_user(request.user), slug=slug)


@login_required
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    team = get_object_or_404(
        Team.objects.for_user(request.user).prefetch_related(
            Prefetch("memberships", queryset=Membership.objects.select_related("user"))
        ),
        slug=slug,
    )
    can_manage = has_team_perm(request.user, team, "manage_team")
    return render(
        request,
        "idp/team_detail.html",
        {"team": team, "can_manage": can_manage, "form": MemberAddForm()},
    )


@login_required
@require_POST
def member_add(request: HttpRequest, slug: str) -> HttpResponse:
    team = _team_for(request, slug)
    if not has_team_perm(request.user, team, "manage_team"):
        return HttpResponse("Only team admins manage members.", status=403)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        user, _ = services.ensure_user(form.cleaned_data["username"], email=form.cleaned_data["email"])
        services.set_membership(team, user, form.cleaned_data["role"], actor=request.user)
        messages.success(request, f"{user.get_username()} is now {form.cleaned_data['role']} of {team.slug}.")
    else:
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(errors)}")
    return redirect(team)


@login_required
@require_POST
def member_change(request: HttpRequest, slug: str, username: str) -> HttpResponse:
    team = _team_for(request, slug)
    if not has_team_perm(request.user, team, "manage_team"):
        return HttpResponse("Only team admins manage members.", status=403)
    membership = get_object_or_404(Membership.objects.select_related("user"), team=team, user__username=username)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid role.")
        return redirect(team)
    try:
        if form.cleaned_data["remove"]:
            services.remove_membership(team, membership.user, actor=request.user)
            messages.success(request, f"{username} removed from {team.slug}.")
        elif form.cleaned_data["role"]:
            services.set_membership(team, membership.user, form.cleaned_data["role"], actor=request.user)
            messages.success(request, f"{username} is now {form.cleaned_data['role']}.")
    except services.ServiceError as exc:
        messages.error(request, exc.message)
    return redirect(team)


@login_required
def team_audit(request: HttpRequest, slug: str) -> HttpResponse:
    team = _team_for(request, slug)
    if not has_team_perm(request.user, team, "manage_team"):
        return HttpResponse("Only team admins see the team's audit log.", status=403)
    events = AuditEvent.objects.filter(team=team)
    action = request.GET.get("action", "").strip()
    if action:
        events = events.filter(action__startswith=action)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "idp/team_audit.html", {"team": team, "page_obj": page, "action": action})
