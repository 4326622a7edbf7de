"""The group → team rule itself, through `manage.py sso_map`, admin and the sync action."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from idp.auth import groups
from idp.choices import AuditAction, MembershipSource, Role
from idp.models import AuditEvent, Membership, SSOGroupMapping


def run(*args: str) -> str:
    out = StringIO()
    call_command("sso_map", *args, stdout=out)
    return out.getvalue()


def test_sso_map_adds_lists_previews_and_removes(teams, settings):
    settings.IDP_SSO_GROUP_MAPPINGS = ["search-*=search:viewer:add_only"]
    assert "Mapped eng-payments" in run("add", "eng-payments", "payments", "maintainer")
    run("add", "eng-*", "payments", "viewer", "--add-only")
    listing = run("list")
    assert "eng-payments\tpayments\tmaintainer\tmanage" in listing
    assert "eng-*\tpayments\tviewer\tadd_only" in listing
    assert "search-*\tsearch\tviewer\tadd_only" in listing  # from settings
    preview = run("preview", "ENG-Payments", "search-ui")
    assert "payments\tmaintainer\t(from SSO group ENG-Payments)" in preview
    assert "search\tviewer\t(from SSO group search-ui)" in preview
    assert "No team" in run("preview", "marketing")
    run("remove", "eng-*", "payments")
    assert SSOGroupMapping.objects.count() == 1
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions.count(AuditAction.SSO_MAPPING_SAVED) == 2
    assert actions.count(AuditAction.SSO_MAPPING_DELETED) == 1


def test_sso_map_refuses_unknown_teams_and_bad_settings(teams, settings):
    with pytest.raises(CommandError, match="No team 'nope'"):
        run("add", "eng-x", "nope", "member")
    with pytest.raises(CommandError, match="No mapping"):
        run("remove", "eng-x", "payments")
    settings.IDP_SSO_GROUP_MAPPINGS = ["broken"]
    with pytest.raises(CommandError, match="PATTERN=TEAM:ROLE"):
        run("list")


def test_sync_never_touches_manual_memberships(teams, alice):
    groups.save_mapping("eng-payments", teams["payments"], Role.ADMIN, "manage")
    result = groups.apply_idp_groups(alice, ["eng-payments"])
    assert result.kept_manual == ["payments"]
    membership = Membership.objects.get(user=alice)
    assert (membership.role, membership.source) == (Role.MEMBER, MembershipSource.MANUAL)
    groups.apply_idp_groups(alice, [])
    assert Membership.objects.filter(user=alice).exists()


def test_no_groups_claim_changes_nothing(make_user: Any, teams):
    from types import SimpleNamespace

    login = SimpleNamespace(account=SimpleNamespace(extra_data={"login": "gh-user"}))
    assert groups.groups_of_sociallogin(login) is None  # e.g. GitHub: no groups, no sync
    login.account.extra_data = {"userinfo": {"groups": "solo"}, "id_token": {}}
    assert groups.groups_of_sociallogin(login) == ["solo"]


def test_admin_saves_mappings_through_the_audited_action(client_as, make_user, teams):
    admin = make_user("root", is_superuser=True, is_staff=True)
    client = client_as(admin)
    response = client.post(
        "/admin/idp/ssogroupmapping/add/",
        {
            "group_pattern": "eng-payments",
            "team": teams["payments"].pk,
            "role": "member",
            "mode": "manage",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    mapping = SSOGroupMapping.objects.get()
    event = AuditEvent.objects.get(action=AuditAction.SSO_MAPPING_SAVED)
    assert event.actor_name == "root" and event.details["group_pattern"] == "eng-payments"
    response = client.post(
        f"/admin/idp/ssogroupmapping/{mapping.pk}/change/",
        {
            "group_pattern": "eng-pay*",
            "team": teams["payments"].pk,
            "role": "viewer",
            "mode": "add_only",
        },
    )
    assert response.status_code == 302
    assert list(SSOGroupMapping.objects.values_list("group_pattern", "role")) == [
        ("eng-pay*", "viewer")
    ]
