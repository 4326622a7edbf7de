"""Portal pages for the signed-in user, teams, memberships and the audit log.

Visibility comes only from `for_user`: another team's team answers 404; a team you
see but whose role does not allow the action answers 403.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, OuterRef, Prefetch, Q, Subquery
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from . import services
from .choices import Role
from .forms import (
    MemberAddForm,
    MemberRoleForm,
    NotificationPreferencesForm,
    ServiceAccountForm,
    ServiceAccountTokenForm,
    TokenCreateForm,
)
from .models import (
    APIToken,
    AuditEvent,
    Membership,
    NotificationPreference,
    ServiceAccount,
    Team,
)
from .paginator import CountCachingPaginator
from .rbac import has_team_perm, is_platform_admin, signed_in_user


def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return render(request, "404.html", status=404)


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    """A 403 page inside the portal layout, saying what the role does not allow and who may."""
    return render(request, "403.html", {"message": message}, status=403)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """`handler403`: a refusal (PermissionDenied) renders the portal's page with its reason;
    the API answers JSON as everywhere else."""
    message = str(exception or "") or "You are not allowed to do this."
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=403)
    return forbidden(request, message)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    memberships = (
        Membership.objects.filter(user=signed_in_user(request.user))
        .select_related("team")
        .annotate(member_count=Count("team__memberships"))
        .order_by("team__slug")
    )
    recent = AuditEvent.objects.for_user(request.user, "manage_team").select_related("team")[:8]
    return render(
        request,
        "idp/home.html",
        {
            "memberships": memberships,
            "recent_events": recent,
            "is_platform_admin": is_platform_admin(request.user),
        },
    )


def _profile_page(request: HttpRequest, form: TokenCreateForm, status: int = 200) -> HttpResponse:
    user = signed_in_user(request.user)
    tokens = APIToken.objects.filter(user=user).select_related("team")
    memberships = Membership.objects.filter(user=user).select_related("team")
    preference = NotificationPreference.objects.filter(user=user).first()
    notifications = NotificationPreferencesForm(
        initial={
            "plans_to_decide": preference is None or preference.plans_to_decide,
            "my_requests": preference is None or preference.my_requests,
            "drift_found": preference is None or preference.drift_found,
        }
    )
    return render(
        request,
        "idp/profile.html",
        {
            "tokens": tokens,
            "memberships": memberships,
            "form": form,
            "notifications_form": notifications,
            # Shown once on this page, then gone from the session.
            "new_token": request.session.pop("new_api_token", None),
        },
        status=status,
    )


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    return _profile_page(request, TokenCreateForm())


@login_required
def notification_preferences(request: HttpRequest) -> HttpResponse:
    """Your own e-mail preferences (a form of checkboxes: an unticked box is off); opened
    directly, the profile page shows them."""
    if request.method != "POST":
        return redirect(reverse("profile") + "#notifications")
    form = NotificationPreferencesForm(request.POST)
    form.is_valid()  # optional checkboxes: always valid
    services.set_notification_preferences(
        signed_in_user(request.user), **form.cleaned_data, actor=request.user
    )
    messages.success(request, "Notification preferences saved.")
    return redirect(reverse("profile") + "#notifications")


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    form = TokenCreateForm(request.POST)
    if not form.is_valid():
        return _profile_page(request, form, status=400)
    data = form.cleaned_data
    try:
        token, raw = services.create_api_token(
            signed_in_user(request.user),
            name=data["name"],
            scopes=data["scopes"],
            lifetime=services.parse_token_lifetime(data["expires_in"] or "90d"),
            actor=request.user,
        )
    except services.ServiceError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return _profile_page(request, form, status=400)
    request.session["new_api_token"] = raw
    messages.success(request, f"Token “{token.name}” created.")
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
    my_role = Membership.objects.filter(team=OuterRef("pk"), user=signed_in_user(request.user))
    teams = Team.objects.for_user(request.user).annotate(
        member_count=Count("memberships"), my_role=Subquery(my_role.values("role")[:1])
    )
    query = request.GET.get("q", "").strip()
    if query:
        teams = teams.filter(Q(name__icontains=query) | Q(slug__icontains=query))
    page = CountCachingPaginator(teams.order_by("slug"), 50).get_page(request.GET.get("page"))
    return render(request, "idp/team_list.html", {"page_obj": page, "q": query})


def _team_for(request: HttpRequest, slug: str) -> Team:
    return get_object_or_404(Team.objects.for_user(request.user), slug=slug)


def _team_page(
    request: HttpRequest,
    team: Team,
    form: MemberAddForm | None = None,
    status: int = 200,
    sa_form: ServiceAccountForm | None = None,
) -> HttpResponse:
    memberships = list(team.memberships.all())
    can_manage = has_team_perm(request.user, team, "manage_team")
    my_role = next((m.role for m in memberships if m.user_id == request.user.pk), None)
    role_counts = {role: 0 for role in Role.values}
    for m in memberships:
        role_counts[m.role] += 1
    service_accounts = (
        ServiceAccount.objects.for_user(request.user)
        .filter(team=team)
        .select_related("user", "created_by")
        .prefetch_related("workload_bindings")
    )
    return render(
        request,
        "idp/team_detail.html",
        {
            "team": team,
            "memberships": memberships,
            "service_accounts": service_accounts,
            "role_counts": role_counts,
            "my_role": my_role,
            "can_manage": can_manage,
            "roles": Role.choices,
            "form": form or MemberAddForm(),
            "can_maintain": has_team_perm(request.user, team, "maintain_team"),
            "sa_form": sa_form or ServiceAccountForm(),
            "sa_token_form": ServiceAccountTokenForm(),
            "new_sa_token": request.session.pop("new_service_account_token", None),
        },
        status=status,
    )


@login_required
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    team = get_object_or_404(
        Team.objects.for_user(request.user).prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.select_related("user").order_by("user__username"),
            )
        ),
        slug=slug,
    )
    return _team_page(request, team)


@login_required
@require_POST
def member_add(request: HttpRequest, slug: str) -> HttpResponse:
    team = _team_for(request, slug)
    if not has_team_perm(request.user, team, "manage_team"):
        return forbidden(request, f"Only admins of {team.name} manage its members.")
    form = MemberAddForm(request.POST)
    if form.is_valid():
        data: dict[str, Any] = form.cleaned_data
        try:
            membership = services.add_member(
                team, data["username"], data["role"], actor=request.user
            )
        except services.ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request, f"{membership.user.get_username()} is now {data['role']} of {team.name}."
            )
            return redirect(team)
    return _team_page(request, team, form=form, status=400)


@login_required
@require_POST
def member_change(request: HttpRequest, slug: str, username: str) -> HttpResponse:
    team = _team_for(request, slug)
    if not has_team_perm(request.user, team, "manage_team"):
        return forbidden(request, f"Only admins of {team.name} manage its members.")
    membership = get_object_or_404(
        Membership.objects.select_related("user"), team=team, user__username=username
    )
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid role.")
        return redirect(team)
    try:
        if form.cleaned_data["remove"]:
            services.remove_membership(team, membership.user, actor=request.user)
            messages.success(request, f"{username} removed from {team.name}.")
        elif form.cleaned_data["role"]:
            services.set_membership(
                team, membership.user, form.cleaned_data["role"], actor=request.user
            )
            messages.success(request, f"{username} is now {form.cleaned_data['role']}.")
    except services.ServiceError as exc:
        messages.error(request, exc.message)
    return redirect(team)


@login_required
def team_audit(request: HttpRequest, slug: str) -> HttpResponse:
    team = _team_for(request, slug)
    if not has_team_perm(request.user, team, "manage_team"):
        return forbidden(request, f"Only admins of {team.name} see its audit log.")
    events = AuditEvent.objects.for_user(request.user, "manage_team").filter(team=team)
    action = request.GET.get("action", "").strip()
    actor = request.GET.get("actor", "").strip()
    if action:
        events = events.filter(action__startswith=action)
    if actor:
        events = events.filter(actor_name=actor)
    actions = (
        AuditEvent.objects.filter(team=team).order_by().values_list("action", flat=True).distinct()
    )
    page = CountCachingPaginator(events, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "idp/team_audit.html",
        {
            "team": team,
            "page_obj": page,
            "action": action,
            "actor": actor,
            "actions": sorted(actions),
        },
    )
