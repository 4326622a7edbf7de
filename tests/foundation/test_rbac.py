"""The RBAC matrix: role × own/other team × read/write, on the portal and the API.

Another team's team answers 404 everywhere; a team you see but whose role is too low
answers 403; platform admins may do everything.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from idp import services
from idp.choices import Role
from idp.models import AuditEvent, Membership, Team
from idp.rbac import TEAM_PERMS, has_team_perm, is_platform_admin
from tests.utils import assert_error, assert_ok

from .conftest import ROLES

User = get_user_model()

PERMS_BY_ROLE = {
    Role.VIEWER: {"view_team"},
    Role.MEMBER: {"view_team", "use_team"},
    Role.MAINTAINER: {"view_team", "use_team", "maintain_team"},
    Role.ADMIN: {"view_team", "use_team", "maintain_team", "manage_team"},
}
WRITES = ["add_member", "change_role", "remove_member", "patch_team"]


@pytest.fixture
def others(make_user: Any, teams: dict[str, Team]) -> dict[str, Any]:
    """A plain member in each team: the target of membership changes; and "newbie", an
    existing user in no team, the one added (adding a member never creates a user)."""
    make_user("newbie")
    return {
        "payments": make_user("dave", team=teams["payments"], role=Role.MEMBER),
        "search": make_user("erin", team=teams["search"], role=Role.MEMBER),
    }


def _target(slug: str) -> str:
    return {"payments": "dave", "search": "erin"}[slug]


def portal_write(client: Any, action: str, slug: str) -> Any:
    user = _target(slug)
    if action == "add_member":
        return client.post(f"/teams/{slug}/members/", {"username": "newbie", "role": "viewer"})
    if action == "change_role":
        return client.post(f"/teams/{slug}/members/{user}/", {"role": "maintainer"})
    if action == "remove_member":
        return client.post(f"/teams/{slug}/members/{user}/", {"remove": "1"})
    raise AssertionError(action)


def api_write(client: Any, action: str, slug: str) -> Any:
    user = _target(slug)
    if action == "add_member":
        return client.post(
            f"/api/v1/teams/{slug}/members/", {"username": "newbie", "role": "viewer"}
        )
    if action == "change_role":
        return client.patch(f"/api/v1/teams/{slug}/members/{user}/", {"role": "maintainer"})
    if action == "remove_member":
        return client.delete(f"/api/v1/teams/{slug}/members/{user}/")
    if action == "patch_team":
        return client.patch(f"/api/v1/teams/{slug}/", {"description": "Renamed by a test"})
    raise AssertionError(action)


def state(slug: str) -> tuple[Any, ...]:
    """What a write would change: membership rows and the team's description."""
    team = Team.objects.get(slug=slug)
    rows = tuple(
        Membership.objects.filter(team=team)
        .order_by("user__username")
        .values_list("user__username", "role")
    )
    return rows, team.description


def assert_written(action: str, slug: str) -> None:
    team = Team.objects.get(slug=slug)
    user = _target(slug)
    if action == "add_member":
        assert Membership.objects.get(team=team, user__username="newbie").role == Role.VIEWER
        newbie = Membership.objects.get(team=team, user__username="newbie").user
        assert has_team_perm(newbie, team, "view_team")
        assert not has_team_perm(newbie, team, "use_team")
    elif action == "change_role":
        membership = Membership.objects.get(team=team, user__username=user)
        assert membership.role == Role.MAINTAINER
        assert has_team_perm(membership.user, team, "maintain_team")
    elif action == "remove_member":
        assert not Membership.objects.filter(team=team, user__username=user).exists()
        assert not has_team_perm(User.objects.get(username=user), team, "view_team")
    elif action == "patch_team":
        assert team.description == "Renamed by a test"


# --- Read -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_read_own_team_portal_and_api(role, by_role, client_as, api_as, others):
    user = by_role[role]
    page = client_as(user).get("/teams/payments/")
    assert page.status_code == 200
    assert b"dave" in page.content
    body = assert_ok(api_as(user).get("/api/v1/teams/payments/"))
    assert body["my_role"] == role
    assert {m["username"] for m in body["members"]} >= {"dave", user.username}


@pytest.mark.parametrize("role", ROLES)
def test_read_other_team_is_404(role, by_role, client_as, api_as, others):
    user = by_role[role]
    assert client_as(user).get("/teams/search/").status_code == 404
    assert_error(api_as(user).get("/api/v1/teams/search/"), 404)
    # Not even its existence leaks: same answer as a team that does not exist.
    assert_error(api_as(user).get("/api/v1/teams/no-such-team/"), 404)


def test_platform_admin_reads_every_team(platform_admin, client_as, api_as, others):
    for slug in ("payments", "search"):
        assert client_as(platform_admin).get(f"/teams/{slug}/").status_code == 200
        assert_ok(api_as(platform_admin).get(f"/api/v1/teams/{slug}/"))
    slugs = [t["slug"] for t in assert_ok(api_as(platform_admin).get("/api/v1/teams/"))["results"]]
    assert slugs == ["payments", "search"]


# --- Write ----------------------------------------------------------------------------


PORTAL_WRITES = ["add_member", "change_role", "remove_member"]
API_STATUS = {"add_member": 201, "change_role": 200, "remove_member": 204, "patch_team": 200}


@pytest.mark.parametrize("role", ROLES)
def test_portal_write_own_team(role, by_role, client_as, others):
    client = client_as(by_role[role])
    for action in PORTAL_WRITES:
        before = state("payments")
        response = portal_write(client, action, "payments")
        if role == Role.ADMIN:
            assert response.status_code == 302, (action, response.content)
            assert_written(action, "payments")
        else:
            assert response.status_code == 403, action
            assert b"Only admins of" in response.content
            assert state("payments") == before


@pytest.mark.parametrize("role", ROLES)
def test_portal_write_other_team_is_404(role, by_role, client_as, others):
    client = client_as(by_role[role])
    before = state("search")
    for action in PORTAL_WRITES:
        assert portal_write(client, action, "search").status_code == 404, action
    assert state("search") == before


@pytest.mark.parametrize("role", ROLES)
def test_api_write_own_team(role, by_role, api_as, others):
    api = api_as(by_role[role])
    for action in WRITES:
        before = state("payments")
        response = api_write(api, action, "payments")
        if role == Role.ADMIN:
            assert_ok(response, API_STATUS[action])
            assert_written(action, "payments")
        else:
            body = assert_error(response, 403)
            assert "payments" in body["detail"]
            assert state("payments") == before


@pytest.mark.parametrize("role", ROLES)
def test_api_write_other_team_is_404(role, by_role, api_as, others):
    api = api_as(by_role[role])
    before = state("search")
    for action in WRITES:
        assert_error(api_write(api, action, "search"), 404)
    assert state("search") == before


@pytest.mark.parametrize("slug", ["payments", "search"])
def test_platform_admin_writes_every_team(slug, platform_admin, api_as, others):
    api = api_as(platform_admin)
    for action in WRITES:
        assert_ok(api_write(api, action, slug), API_STATUS[action])
        assert_written(action, slug)


def test_platform_admin_portal_write(platform_admin, client_as, others):
    client = client_as(platform_admin)
    assert portal_write(client, "change_role", "search").status_code == 302
    assert_written("change_role", "search")


def test_only_platform_admins_create_teams(by_role, platform_admin, api_as):
    assert_error(api_as(by_role[Role.ADMIN]).post("/api/v1/teams/", {"slug": "x1"}), 403)
    assert not Team.objects.filter(slug="x1").exists()
    body = assert_ok(api_as(platform_admin).post("/api/v1/teams/", {"slug": "x1"}), 201)
    assert body["slug"] == "x1" and body["name"] == "X1"


def test_member_management_shown_to_team_admins_only(by_role, client_as, others):
    page = client_as(by_role[Role.ADMIN]).get("/teams/payments/")
    assert b"Add a member" in page.content and b"/teams/payments/members/dave/" in page.content
    page = client_as(by_role[Role.MAINTAINER]).get("/teams/payments/")
    assert b"Add a member" not in page.content
    assert b"/teams/payments/members/dave/" not in page.content


def test_last_admin_cannot_demote_or_remove_themselves(by_role, api_as, client_as):
    admin = by_role[Role.ADMIN]
    api = api_as(admin)
    assert_error(api.delete("/api/v1/teams/payments/members/admin-user/"), 409)
    assert_error(api.patch("/api/v1/teams/payments/members/admin-user/", {"role": "member"}), 409)
    assert Membership.objects.get(user=admin).role == Role.ADMIN
    page = client_as(admin).post(
        "/teams/payments/members/admin-user/", {"remove": "1"}, follow=True
    )
    assert b"last admin" in page.content
    assert Membership.objects.filter(user=admin).exists()


def test_portal_add_member_bad_input_reshows_form_with_field_error(by_role, client_as):
    response = client_as(by_role[Role.ADMIN]).post(
        "/teams/payments/members/", {"username": "bad name!", "role": "viewer"}
    )
    assert response.status_code == 400
    assert b'class="errorlist"' in response.content
    assert b'value="bad name!"' in response.content  # the form keeps what was typed
    assert not Membership.objects.filter(user__username="bad name!").exists()
    assert not AuditEvent.objects.filter(action="membership.added", details__user="bad name!")


# --- for_user and has_team_perm -------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_for_user_per_perm(role, by_role, teams, others):
    user = by_role[role]
    expected_users = {"dave", *(u.username for u in by_role.values())}
    for perm in TEAM_PERMS:
        allowed = perm in PERMS_BY_ROLE[role]
        visible = set(Team.objects.for_user(user, perm).values_list("slug", flat=True))
        assert visible == ({"payments"} if allowed else set()), perm
        memberships = Membership.objects.for_user(user, perm)
        usernames = set(memberships.values_list("user__username", flat=True))
        assert usernames == (expected_users if allowed else set()), perm


@pytest.mark.parametrize("role", ROLES)
def test_has_team_perm(role, by_role, teams):
    user = by_role[role]
    for perm in TEAM_PERMS:
        assert has_team_perm(user, teams["payments"], perm) is (perm in PERMS_BY_ROLE[role]), perm
        assert has_team_perm(user, teams["search"], perm) is False, perm


def test_for_user_platform_admin_anonymous_and_unknown_perm(platform_admin, teams, alice):
    from django.contrib.auth.models import AnonymousUser

    assert is_platform_admin(platform_admin)
    for perm in TEAM_PERMS:
        assert Team.objects.for_user(platform_admin, perm).count() == 2
        assert has_team_perm(platform_admin, teams["search"], perm)
        assert not Team.objects.for_user(AnonymousUser(), perm).exists()
        assert not has_team_perm(AnonymousUser(), teams["payments"], perm)
    assert not has_team_perm(alice, None, "view_team")
    with pytest.raises(ValueError, match="Unknown team permission"):
        Team.objects.for_user(alice, "delete_team")


def test_for_user_follows_team_field_of_other_models(alice, carol, teams):
    """AuditEvent (team) and a catalog Service (team) are narrowed by the same query."""
    from catalog.models import Service

    Service.objects.create(team=teams["payments"], slug="pay-api", name="Pay API")
    Service.objects.create(team=teams["search"], slug="find-api", name="Find API")
    assert list(Service.objects.for_user(alice).values_list("slug", flat=True)) == ["pay-api"]
    assert list(Service.objects.for_user(carol).values_list("slug", flat=True)) == ["find-api"]


def test_role_change_takes_effect_at_once(make_user, teams):
    user = make_user("flip", team=teams["payments"], role=Role.VIEWER)
    assert not has_team_perm(user, teams["payments"], "use_team")  # now cached
    services.set_membership(teams["payments"], user, Role.MEMBER)
    assert has_team_perm(user, teams["payments"], "use_team")
    services.remove_membership(teams["payments"], user)
    assert not has_team_perm(user, teams["payments"], "view_team")
    assert not Team.objects.for_user(user).exists()
