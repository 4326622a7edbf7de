"""SCIM 2.0 with the request sequences Okta and Entra ID send: users, groups → teams, and
deactivation that kills the user's tokens and sessions at once."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from idp import services
from idp.auth import groups
from idp.auth.scim import create_scim_token
from idp.choices import AuditAction, MembershipSource, Role, SSOMappingMode
from idp.models import APIToken, AuditEvent, Membership

from .client import GROUP, PATCH, SCIM, USER


@pytest.fixture
def mapped(make_team: Any) -> dict[str, Any]:
    payments = make_team("payments")
    groups.save_mapping("eng-payments", payments, Role.MEMBER, SSOMappingMode.MANAGE)
    return {"payments": payments}


def test_only_a_scim_token_opens_scim(db, platform_admin, alice_token):
    assert Client().get("/scim/v2/Users").status_code == 401
    assert (
        SCIM("idp_not-a-token")
        .client.get("/scim/v2/Users", HTTP_AUTHORIZATION="Bearer idp_nope")
        .status_code
        == 401
    )
    # A personal token without the scim scope is no SCIM token.
    response = Client().get("/scim/v2/Users", HTTP_AUTHORIZATION=f"Bearer {alice_token}")
    assert response.status_code == 401


@pytest.fixture
def alice_token(alice: Any) -> str:
    return services.create_api_token(alice, name="laptop")[1]


def test_only_a_platform_admin_creates_a_scim_token(alice):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not a platform admin"):
        call_command("create_scim_token", "--actor", "alice")


def test_okta_provisions_groups_and_deactivates(scim, mapped, api_as, client):
    # Okta: look the user up by userName, create them, read them back.
    found = scim.call(
        "get", "Users?filter=userName%20eq%20%22dana%40example.com%22&startIndex=1&count=100"
    )
    assert found["totalResults"] == 0
    created = scim.call(
        "post",
        "Users",
        {
            "schemas": [USER],
            "userName": "dana@example.com",
            "name": {"givenName": "Dana", "familyName": "Scully"},
            "emails": [{"primary": True, "value": "dana@example.com", "type": "work"}],
            "displayName": "Dana Scully",
            "locale": "en-US",
            "externalId": "00u1abcd",
            "groups": [],
            "password": "ignored-Passw0rd",
            "active": True,
        },
        status=201,
    )
    dana = get_user_model().objects.get(username="dana@example.com")
    assert not dana.has_usable_password()  # Okta's password is never taken
    assert created["id"] == str(dana.pk) and created["active"] is True
    found = scim.call("get", "Users?filter=userName%20eq%20%22dana%40example.com%22")
    assert [r["userName"] for r in found["Resources"]] == ["dana@example.com"]

    # Okta pushes the group, then adds dana to it: she becomes a payments member.
    group = scim.call(
        "post",
        "Groups",
        {"schemas": [GROUP], "displayName": "eng-payments", "members": []},
        status=201,
    )
    scim.call(
        "patch",
        f"Groups/{group['id']}",
        {
            "schemas": [PATCH],
            "Operations": [
                {
                    "op": "add",
                    "path": "members",
                    "value": [{"value": created["id"], "display": "dana"}],
                }
            ],
        },
    )
    membership = Membership.objects.get(user=dana, team=mapped["payments"])
    assert (membership.role, membership.source, membership.sso_group) == (
        Role.MEMBER,
        MembershipSource.SCIM,
        "eng-payments",
    )
    assert scim.call("get", f"Groups/{group['id']}")["members"][0]["value"] == created["id"]

    # dana works with a token and a browser session.
    api = api_as(dana)
    assert api.get("/api/v1/teams/").status_code == 200
    client.force_login(dana, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get("/teams/").status_code == 200

    # Okta deactivates: the very next API call is 401, the session is gone, audited.
    scim.call(
        "patch",
        f"Users/{created['id']}",
        {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]},
    )
    assert api.get("/api/v1/teams/").status_code == 401
    assert client.get("/teams/").status_code == 302  # to sign-in
    assert not APIToken.objects.filter(user=dana, revoked_at__isnull=True).exists()
    event = AuditEvent.objects.get(action=AuditAction.USER_DEACTIVATED)
    assert event.actor_name == "scim-provisioner"
    assert event.details["tokens_revoked"] == 1 and event.details["sessions_ended"] == 1

    # Okta removes her from the group: the SCIM membership goes.
    scim.call(
        "patch",
        f"Groups/{group['id']}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "remove", "path": f'members[value eq "{created["id"]}"]'}],
        },
    )
    assert not Membership.objects.filter(user=dana).exists()


def test_entra_id_sequence(scim, mapped, make_user):
    found = scim.call("get", "Users?filter=userName+eq+%22erin%40contoso.com%22")
    assert found["Resources"] == []
    created = scim.call(
        "post",
        "Users",
        {
            "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "externalId": "erin",
            "userName": "erin@contoso.com",
            "active": True,
            "displayName": "Erin Example",
            "emails": [{"primary": True, "type": "work", "value": "erin@contoso.com"}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "Erin Example", "familyName": "Example", "givenName": "Erin"},
            "roles": [],
        },
        status=201,
    )
    uid = created["id"]
    scim.call(
        "patch",
        f"Users/{uid}",
        {
            "schemas": [PATCH],
            "Operations": [
                {"op": "Replace", "path": "name.givenName", "value": "Erin B."},
                {
                    "op": "Replace",
                    "path": 'emails[type eq "work"].value',
                    "value": "eb@contoso.com",
                },
                {"op": "Add", "path": "externalId", "value": "erin-2"},
            ],
        },
    )
    erin = get_user_model().objects.get(pk=uid)
    assert (erin.first_name, erin.email) == ("Erin B.", "eb@contoso.com")

    # Entra looks the group up by displayName, creates it, adds and removes members.
    assert (
        scim.call(
            "get", "Groups?filter=displayName+eq+%22eng-payments%22&excludedAttributes=members"
        )["Resources"]
        == []
    )
    group = scim.call(
        "post",
        "Groups",
        {
            "schemas": [GROUP],
            "externalId": "g1",
            "displayName": "eng-payments",
            "meta": {"resourceType": "Group"},
        },
        status=201,
    )
    found = scim.call("get", "Groups?filter=displayName+eq+%22eng-payments%22")
    assert [g["id"] for g in found["Resources"]] == [group["id"]]
    scim.call(
        "patch",
        f"Groups/{group['id']}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "Add", "path": "members", "value": [{"value": uid}]}],
        },
    )
    assert Membership.objects.filter(user=erin, team=mapped["payments"], source="scim").exists()
    # A manual membership of another team is never touched by SCIM.
    search = services.create_team("search")
    services.set_membership(search, erin, Role.MAINTAINER)
    scim.call(
        "patch",
        f"Groups/{group['id']}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "Remove", "path": "members", "value": [{"value": uid}]}],
        },
    )
    assert list(Membership.objects.filter(user=erin).values_list("team__slug", "source")) == [
        ("search", "manual")
    ]
    # Entra sends booleans as strings; the user is deactivated, then deleted = kept inactive.
    scim.call(
        "patch",
        f"Users/{uid}",
        {"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]},
    )
    erin.refresh_from_db()
    assert not erin.is_active
    scim.call("delete", f"Users/{uid}", status=204)
    assert get_user_model().objects.filter(pk=uid, is_active=False).exists()


def test_platform_role_groups_are_not_scim_groups(scim, mapped):
    listed = scim.call("get", "Groups")
    assert listed["Resources"] == []  # team:payments:member etc. stay the platform's own
    from django.contrib.auth.models import Group

    role_group = Group.objects.get(name="team:payments:member")
    scim.call("get", f"Groups/{role_group.pk}", status=404)


def test_bad_input_is_a_400(scim):
    scim.call("post", "Users", {"schemas": [USER], "userName": "bad name!"}, status=400)
    scim.call("get", "Groups?filter=members+co+%22x%22", status=400)


def test_nobody_mints_a_scim_token_for_themselves(db, alice, platform_admin, client_as):
    """The scim scope opens user provisioning for the whole platform: only a platform admin
    gives it, and only to the SCIM service user (`create_scim_token`)."""
    for user in (alice, platform_admin):
        # Signed in (a session, or a JWT from a password): no token whose scopes bound it.
        answer = client_as(user).post(
            "/api/v1/tokens/",
            json.dumps({"name": "mine", "scopes": ["scim"]}),
            content_type="application/json",
        )
        assert answer.status_code == 400, answer.content
        assert "scopes" in answer.json()["detail"]
        assert not APIToken.objects.filter(user=user, name="mine").exists()
        with pytest.raises(services.ServiceError):
            services.create_api_token(user, name="x", scopes=["scim"], actor=user)
    # A person's token that carries the scope anyway (made before this rule) opens nothing.
    _, raw = services.create_api_token(alice, name="old")
    APIToken.objects.filter(user=alice, name="old").update(scopes=["read", "scim"])
    response = Client().get("/scim/v2/Users", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 401
    # The one way stays open.
    token, _ = create_scim_token(name="okta", actor=platform_admin)
    assert token.scopes == ["scim"]
