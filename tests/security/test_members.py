"""Adding a member adds an existing user; it never changes that user, nor shows e-mails.

A team admin once rewrote any user's e-mail (a superuser's too) by "adding" them with an
`email` field, then reset that user's password through it; and the call made accounts
for unknown names. Creating users stays with platform admins and ops.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from idp.choices import Role
from idp.models import AuditEvent, Membership, Team
from tests.utils import assert_error, assert_ok

User = get_user_model()

PROFILE_FIELDS = (
    "email",
    "password",
    "first_name",
    "last_name",
    "is_active",
    "is_staff",
    "is_superuser",
)


def profile(user: Any) -> dict[str, Any]:
    """What adding a member must never touch, read fresh from the database."""
    return dict(User.objects.filter(pk=user.pk).values(*PROFILE_FIELDS).get())


@pytest.fixture
def team_admin(make_user: Any, teams: dict[str, Team]) -> Any:
    return make_user("tadmin", team=teams["payments"], role=Role.ADMIN)


@pytest.fixture
def root(make_user: Any) -> Any:
    return make_user("root", first_name="Ro", last_name="Ot", is_staff=True, is_superuser=True)


# --- API --------------------------------------------------------------------------------


def test_api_add_member_refuses_an_email_and_changes_nobody(team_admin, root, carol, api_as):
    before = profile(root)
    api = api_as(team_admin)
    body = assert_error(
        api.post(
            "/api/v1/teams/payments/members/",
            {"username": "root", "role": "viewer", "email": "me@evil.test"},
        ),
        400,
        field="email",
    )
    assert "never changes" in body["detail"]["email"][0]
    assert profile(root) == before
    assert not Membership.objects.filter(user=root).exists()

    # Without the e-mail the existing user is added, and stays exactly as they were.
    added = assert_ok(
        api.post("/api/v1/teams/payments/members/", {"username": "carol", "role": "viewer"}),
        201,
    )
    assert added == {"username": "carol", "role": "viewer", "created_at": added["created_at"]}
    carol_before = profile(carol)
    assert_ok(
        api.post("/api/v1/teams/payments/members/", {"username": "root", "role": "viewer"}), 201
    )
    assert profile(root) == before
    assert profile(carol) == carol_before
    assert Membership.objects.get(user=root, team__slug="payments").role == Role.VIEWER


def test_api_add_member_of_an_unknown_name_creates_nobody(team_admin, api_as):
    body = assert_error(
        api_as(team_admin).post(
            "/api/v1/teams/payments/members/", {"username": "newcomer", "role": "viewer"}
        ),
        400,
        field="username",
    )
    message = body["detail"]["username"][0]
    assert message.startswith("no such user 'newcomer'")
    assert "platform admin" in message and "add_member" in message and "SSO" in message
    assert not User.objects.filter(username="newcomer").exists()
    assert not AuditEvent.objects.filter(action="membership.added", details__user="newcomer")


def test_team_members_show_usernames_and_roles_not_emails(team_admin, alice, api_as):
    body = assert_ok(api_as(team_admin).get("/api/v1/teams/payments/"))
    members = {m["username"]: m for m in body["members"]}
    assert set(members) == {"tadmin", "alice"}
    assert all("email" not in m for m in members.values())
    assert "alice@example.com" not in str(body)


# --- Portal -----------------------------------------------------------------------------


def csrf_client(user: Any) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def csrf_token(client: Client, url: str) -> str:
    page = client.get(url).content.decode()
    return page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]


def test_portal_add_member_never_changes_the_user(team_admin, root, alice):
    client = csrf_client(team_admin)
    page = client.get("/teams/payments/").content.decode()
    assert 'name="email"' not in page  # the form asks for a name and a role only
    assert "alice@example.com" not in page  # other members' e-mails are not shown
    before = profile(root)
    response = client.post(
        "/teams/payments/members/",
        {
            "username": "root",
            "role": "viewer",
            "email": "me@evil.test",
            "csrfmiddlewaretoken": csrf_token(client, "/teams/payments/"),
        },
    )
    assert response.status_code == 302, response.content[:2000]
    assert profile(root) == before
    assert Membership.objects.get(user=root, team__slug="payments").role == Role.VIEWER


def test_portal_add_member_of_an_unknown_name_shows_the_hint(team_admin):
    client = csrf_client(team_admin)
    response = client.post(
        "/teams/payments/members/",
        {
            "username": "newcomer",
            "role": "viewer",
            "csrfmiddlewaretoken": csrf_token(client, "/teams/payments/"),
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "no such user &#x27;newcomer&#x27;" in html and "platform admin" in html
    assert not User.objects.filter(username="newcomer").exists()


# --- The management command (ops) ------------------------------------------------------


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_command_refuses_to_change_an_existing_users_email(root, teams):
    before = profile(root)
    with pytest.raises(CommandError, match="root already exists with another e-mail"):
        run("add_member", "payments", "root", "--role", "viewer", "--email", "me@evil.test")
    assert profile(root) == before
    assert not Membership.objects.filter(user=root).exists()

    # The same address (in any case), or none, adds the existing user unchanged.
    out = run("add_member", "payments", "root", "--role", "viewer", "--email", "ROOT@example.com")
    assert "root is viewer of payments" in out and "new user" not in out
    assert run("add_member", "payments", "root", "--role", "member").startswith("root is member")
    assert profile(root) == before


def test_command_creates_a_new_user_with_the_email(teams):
    out = run("add_member", "payments", "gina", "--role", "viewer", "--email", "gina@example.com")
    assert "gina is viewer of payments (new user" in out
    gina = User.objects.get(username="gina")
    assert gina.email == "gina@example.com" and not gina.has_usable_password()
    assert not (gina.is_staff or gina.is_superuser)
    with pytest.raises(CommandError, match="e-mail"):
        run("add_member", "payments", "hank", "--email", "not-an-address")
    assert not User.objects.filter(username="hank").exists()
