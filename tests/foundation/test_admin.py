"""Django admin: every registered model's pages load; the platform's admins are audited."""

from __future__ import annotations

import pytest
from django.contrib import admin

from idp import admin as idp_admin
from idp.choices import Role
from idp.models import AuditEvent, Environment, Membership, Team
from idp.rbac import has_team_perm


def registered() -> list[tuple[str, str, admin.ModelAdmin]]:
    return sorted(
        (m._meta.app_label, m._meta.model_name, model_admin)
        for m, model_admin in admin.site._registry.items()
    )


@pytest.mark.parametrize(
    "app_label, model_name", [(a, m) for a, m, _ in registered()], ids=lambda v: str(v)
)
def test_changelist_and_add_pages_load(app_label, model_name, superuser, client_as, teams, rf):
    client = client_as(superuser)
    model_admin = next(ma for a, m, ma in registered() if (a, m) == (app_label, model_name))
    base = f"/admin/{app_label}/{model_name}/"
    assert client.get(base).status_code == 200
    if model_admin.get_search_fields(rf.get(base)):
        assert client.get(base, {"q": "payments"}).status_code == 200
    request = rf.get(base)
    request.user = superuser
    add = client.get(f"{base}add/")
    assert add.status_code == (200 if model_admin.has_add_permission(request) else 403)


@pytest.mark.parametrize(
    "model_admin",
    [ma for ma in admin.site._registry.values() if type(ma).__module__ == idp_admin.__name__],
    ids=lambda ma: type(ma).__name__,
)
def test_platform_model_admins_have_filters_and_search(model_admin):
    assert model_admin.list_filter, type(model_admin).__name__
    assert model_admin.search_fields, type(model_admin).__name__


def test_admin_team_and_membership_writes_go_through_services(superuser, client_as, make_user):
    client = client_as(superuser)
    response = client.post(
        "/admin/idp/team/add/",
        {
            "slug": "infra",
            "name": "Infra",
            "description": "",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content[:3000]
    team = Team.objects.get(slug="infra")
    assert AuditEvent.objects.get(action="team.created").actor == superuser

    gina = make_user("gina")
    response = client.post(
        "/admin/idp/membership/add/", {"team": team.pk, "user": gina.pk, "role": Role.ADMIN}
    )
    assert response.status_code == 302, response.content[:3000]
    assert has_team_perm(gina, team, "manage_team")
    assert AuditEvent.objects.get(action="membership.added").actor == superuser

    membership = Membership.objects.get(user=gina)
    response = client.post(
        f"/admin/idp/team/{team.pk}/change/",
        {
            "name": "Infrastructure",
            "description": "",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "1",
            "memberships-0-id": membership.pk,
            "memberships-0-team": team.pk,
            "memberships-0-user": gina.pk,
            "memberships-0-role": Role.VIEWER,
        },
    )
    assert response.status_code == 302, response.content[:3000]
    team.refresh_from_db()
    assert team.slug == "infra" and team.name == "Infrastructure"
    gina = type(gina).objects.get(pk=gina.pk)
    assert has_team_perm(gina, team, "view_team") and not has_team_perm(gina, team, "use_team")
    assert AuditEvent.objects.filter(action="membership.role_changed").count() == 1

    response = client.post(f"/admin/idp/membership/{membership.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    gina = type(gina).objects.get(pk=gina.pk)
    assert not has_team_perm(gina, team, "view_team")
    assert AuditEvent.objects.filter(action="membership.removed").count() == 1


def test_admin_environment_changes_are_audited(superuser, client_as):
    client = client_as(superuser)
    data = {
        "slug": "qa",
        "name": "QA",
        "order": 5,
        "aws_region": "eu-west-1",
        "requires_approval": "on",
        "approvals_required": 2,
        "approver_role": "maintainer",
        "over_budget_platform_admin": "on",
        "state_locking": "s3_lockfile",
    }
    assert client.post("/admin/idp/environment/add/", data).status_code == 302
    env = Environment.objects.get(slug="qa")
    assert env.requires_approval and env.approvals_required == 2
    assert AuditEvent.objects.get(action="environment.created")
    # More than the policy's most (5) is refused with the field named.
    page = client.post(
        "/admin/idp/environment/add/", {**data, "slug": "qa2", "approvals_required": 9}
    )
    assert page.status_code == 200 and "approvals_required" in page.context["adminform"].form.errors
    data.pop("requires_approval")
    assert client.post(f"/admin/idp/environment/{env.pk}/change/", data).status_code == 302
    env.refresh_from_db()
    assert not env.requires_approval
    event = AuditEvent.objects.get(action="environment.updated")
    assert event.details == {"requires_approval": "False"}


def test_admin_environment_with_dynamodb_locking_needs_its_table(superuser, client_as):
    client = client_as(superuser)
    data = {
        "slug": "legacy",
        "name": "Legacy",
        "order": 7,
        "aws_region": "eu-west-1",
        "approvals_required": 1,
        "approver_role": "maintainer",
        "state_locking": "dynamodb",
    }
    page = client.post("/admin/idp/environment/add/", data)
    assert page.status_code == 200
    assert "LockID" in page.context["adminform"].form.errors["dynamodb_lock_table"][0]
    assert not Environment.objects.filter(slug="legacy").exists()

    data["dynamodb_lock_table"] = "terraform-locks"
    assert client.post("/admin/idp/environment/add/", data).status_code == 302
    assert Environment.objects.get(slug="legacy").dynamodb_lock_table == "terraform-locks"
