"""Ops commands: create_team, add_member, seed_demo."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError

from idp.choices import PLATFORM_ADMIN_GROUP, Role
from idp.models import AuditEvent, Environment, Membership, Team
from idp.rbac import has_team_perm, is_platform_admin

User = get_user_model()


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_team(db):
    assert "Created team data-eng (Data Engineering)" in run(
        "create_team", "data-eng", "--name", "Data Engineering"
    )
    team = Team.objects.get(slug="data-eng")
    assert Group.objects.filter(name__startswith="team:data-eng:").count() == 4
    assert AuditEvent.objects.get(action="team.created").actor_name == "system"
    with pytest.raises(CommandError, match="already exists"):
        run("create_team", "data-eng")
    with pytest.raises(CommandError, match="lowercase"):
        run("create_team", "Bad_Slug")
    assert Team.objects.count() == 1 and team.name == "Data Engineering"


def test_add_member_creates_user_and_changes_role(teams):
    out = run("add_member", "payments", "frank", "--role", "maintainer", "--email", "f@example.com")
    assert "frank is maintainer of payments (new user" in out
    frank = User.objects.get(username="frank")
    assert frank.email == "f@example.com" and not frank.has_usable_password()
    assert has_team_perm(frank, teams["payments"], "maintain_team")
    assert not has_team_perm(frank, teams["payments"], "manage_team")

    assert "new user" not in run("add_member", "payments", "frank", "--role", "admin")
    frank = User.objects.get(username="frank")
    assert Membership.objects.get(user=frank).role == Role.ADMIN
    assert has_team_perm(frank, teams["payments"], "manage_team")
    with pytest.raises(CommandError, match="No team"):
        run("add_member", "nope", "frank")
    with pytest.raises(CommandError):
        run("add_member", "payments", "frank", "--role", "owner")
    with pytest.raises(CommandError, match="username"):
        run("add_member", "payments", "bad name!")


def test_seed_demo_is_idempotent(db, tmp_path):
    creds = tmp_path / "creds.json"
    with pytest.raises(CommandError, match="DEBUG"):
        run("seed_demo", "--credentials-file", str(creds))

    run("seed_demo", "--force", "--credentials-file", str(creds))
    counts = (
        Team.objects.count(),
        User.objects.count(),
        Membership.objects.count(),
        Environment.objects.count(),
        Group.objects.count(),
    )
    passwords = json.loads(creds.read_text())
    out = run("seed_demo", "--force", "--credentials-file", str(creds))
    assert counts == (
        Team.objects.count(),
        User.objects.count(),
        Membership.objects.count(),
        Environment.objects.count(),
        Group.objects.count(),
    )
    assert json.loads(creds.read_text()) == passwords
    assert f"alice  {passwords['alice']}" in out

    assert set(Team.objects.values_list("slug", flat=True)) == {"platform", "payments", "search"}
    roles = {(m.user.username, m.team.slug): m.role for m in Membership.objects.select_related()}
    assert roles[("alice", "payments")] == Role.MEMBER
    assert roles[("bob", "payments")] == Role.MAINTAINER
    assert roles[("carol", "search")] == Role.MEMBER
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.groups.filter(name=PLATFORM_ADMIN_GROUP).exists()
    assert is_platform_admin(admin)
    approval = dict(Environment.objects.values_list("slug", "requires_approval"))
    assert approval == {"sandbox": False, "dev": False, "staging": True, "prod": True}
    for username in ("alice", "bob", "carol", "admin"):
        assert User.objects.get(username=username).check_password(passwords[username])
    from catalog.models import Service

    assert Service.objects.filter(team__slug="payments").count() >= 2
