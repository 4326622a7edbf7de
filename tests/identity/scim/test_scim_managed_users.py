"""Issue 24, finding 4: a SCIM token manages only the users SCIM provisioned or that a
platform admin handed to it; every other account (local people, superusers, staff,
platform admins who may break glass, service accounts) is invisible to it."""

from __future__ import annotations

from io import StringIO
from typing import Any
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from idp import service_accounts, services
from idp.choices import AuditAction, MembershipSource, Role, SSOMappingMode
from idp.models import Membership

from .client import GROUP, PATCH, SCIM, USER

User = get_user_model()


def snapshot(user: Any) -> tuple[Any, ...]:
    user = User.objects.get(pk=user.pk)
    return (user.username, user.email, user.first_name, user.last_name, user.is_active)


@pytest.fixture
def local(make_user: Any, make_team: Any) -> dict[str, Any]:
    """Accounts SCIM never made: a superuser, staff, a platform admin, a local person and a
    service account."""
    team = make_team("payments")
    maintainer = make_user("mallory", team=team, role=Role.MAINTAINER)
    account = service_accounts.create_service_account(team, "deployer", actor=maintainer)
    breakglass = make_user("ops-admin")
    services.set_platform_admin(breakglass, True)
    return {
        "root": make_user("root", is_superuser=True, is_staff=True),
        "staff": make_user("staffer", is_staff=True),
        "breakglass": breakglass,
        "carol": make_user("carol"),
        "service": account.user,
    }


def provision(scim: SCIM, username: str, **extra: Any) -> dict[str, Any]:
    body = {
        "schemas": [USER],
        "userName": username,
        "emails": [{"primary": True, "value": f"{username}@idp.example", "type": "work"}],
        "active": True,
        **extra,
    }
    created: dict[str, Any] = scim.call("post", "Users", body, status=201)
    return created


def by_name(username: str) -> str:
    return "Users?filter=" + quote(f'userName eq "{username}"')


def test_lists_and_filters_show_only_scim_users(scim, local, platform_admin):
    dana = provision(scim, "dana")
    listed = scim.call("get", "Users?count=100")
    assert [r["userName"] for r in listed["Resources"]] == ["dana"]
    assert listed["totalResults"] == 1
    for name in ["root", "staffer", "ops-admin", "carol", "padmin", "mallory", "scim-provisioner"]:
        found = scim.call("get", by_name(name))
        assert found["totalResults"] == 0 and found["Resources"] == [], name
    service = local["service"].username
    assert scim.call("get", by_name(service))["Resources"] == []
    # Other filters and the .search endpoint answer the same.
    everyone = scim.call("get", "Users?filter=" + quote('userName co "a"'))
    assert [r["id"] for r in everyone["Resources"]] == [dana["id"]]
    starts = scim.call("get", "Users?filter=" + quote('userName sw "r" or userName sw "d"'))
    assert [r["id"] for r in starts["Resources"]] == [dana["id"]]
    searched = scim.call(
        "post",
        "Users/.search",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'userName eq "root"',
        },
    )
    assert searched["Resources"] == []


@pytest.mark.parametrize("who", ["root", "staff", "breakglass", "carol", "service"])
def test_an_unmanaged_user_is_404_to_every_method(scim, local, who):
    user = local[who]
    before = snapshot(user)
    path = f"Users/{user.pk}"
    scim.call("get", path, status=404)
    scim.call(
        "patch",
        path,
        {
            "schemas": [PATCH],
            "Operations": [
                {"op": "replace", "path": "userName", "value": "taken-over"},
                {"op": "replace", "path": "emails", "value": [{"value": "x@evil.test"}]},
            ],
        },
        status=404,
    )
    scim.call(
        "patch",
        path,
        {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]},
        status=404,
    )
    scim.call(
        "put",
        path,
        {
            "schemas": [USER],
            "userName": user.username,
            "emails": [{"primary": True, "value": "attacker@evil.test"}],
            "active": True,
        },
        status=404,
    )
    scim.call("delete", path, status=404)
    assert snapshot(user) == before


def test_a_superusers_email_cannot_be_rewritten(scim, local):
    """With e-mail linking on, rewriting root's address would hand root to whoever signs
    in with it: neither the superuser itself nor a SCIM user can take it."""
    root = local["root"]
    scim.call(
        "patch",
        f"Users/{root.pk}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "replace", "path": "emails", "value": "me@evil.test"}],
        },
        status=404,
    )
    assert User.objects.get(pk=root.pk).email == "root@example.com"
    # Nor can a SCIM user be given root's address (the next SSO sign-in links by e-mail).
    dana = provision(scim, "dana")
    answer = scim.call(
        "patch",
        f"Users/{dana['id']}",
        {
            "schemas": [PATCH],
            "Operations": [
                {"op": "replace", "path": "emails", "value": [{"value": "ROOT@example.com"}]}
            ],
        },
        status=409,
    )
    assert answer["scimType"] == "uniqueness"
    assert User.objects.get(pk=dana["id"]).email == "dana@idp.example"
    answer = scim.call(
        "post",
        "Users",
        {"schemas": [USER], "userName": "eve", "emails": [{"value": "root@example.com"}]},
        status=409,
    )
    assert answer["scimType"] == "uniqueness"
    assert not User.objects.filter(username="eve").exists()


@pytest.mark.parametrize("target", ["carol", "root", "dana2", "CAROL"])
def test_rename_onto_an_existing_username_is_409(scim, local, target):
    dana = provision(scim, "dana")
    provision(scim, "dana2")
    answer = scim.call(
        "patch",
        f"Users/{dana['id']}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "replace", "path": "userName", "value": target}],
        },
        status=409,
    )
    assert answer["scimType"] == "uniqueness"
    answer = scim.call(
        "put",
        f"Users/{dana['id']}",
        {"schemas": [USER], "userName": target, "active": True},
        status=409,
    )
    assert answer["scimType"] == "uniqueness"
    assert User.objects.get(pk=dana["id"]).username == "dana"
    assert snapshot(local["carol"])[0] == "carol"


@pytest.mark.parametrize("name", ["carol", "Carol", "root", "ops-admin"])
def test_creating_an_existing_local_username_is_409_and_never_claims_it(scim, local, name):
    carol_before = snapshot(local["carol"])
    answer = scim.call(
        "post",
        "Users",
        {
            "schemas": [USER],
            "userName": name,
            "emails": [{"primary": True, "value": "new@idp.example"}],
            "active": True,
        },
        status=409,
    )
    assert answer["scimType"] == "uniqueness"
    assert snapshot(local["carol"]) == carol_before
    assert scim.call("get", by_name(name))["Resources"] == []
    assert User.objects.filter(username__iexact=name).count() == 1


def test_group_members_are_only_scim_users(scim, local, make_team):
    """Adding an unmanaged user to a SCIM group, by id, never grants them a team role."""
    search = make_team("search")
    from idp.auth import groups

    groups.save_mapping("eng-search", search, Role.ADMIN, SSOMappingMode.MANAGE)
    group = scim.call(
        "post", "Groups", {"schemas": [GROUP], "displayName": "eng-search"}, status=201
    )
    carol, root = local["carol"], local["root"]
    for op in (
        {"op": "add", "path": "members", "value": [{"value": str(carol.pk)}]},
        {"op": "add", "path": "members", "value": [{"value": str(root.pk)}]},
    ):
        scim.call(
            "patch", f"Groups/{group['id']}", {"schemas": [PATCH], "Operations": [op]}, status=400
        )
    # Replacing the whole member list, or a PUT, refuses them like users that do not exist.
    dana = provision(scim, "dana")
    scim.call(
        "patch",
        f"Groups/{group['id']}",
        {
            "schemas": [PATCH],
            "Operations": [
                {
                    "op": "replace",
                    "path": "members",
                    "value": [{"value": str(carol.pk)}, {"value": dana["id"]}],
                }
            ],
        },
        status=400,
    )
    scim.call(
        "put",
        f"Groups/{group['id']}",
        {
            "schemas": [GROUP],
            "displayName": "eng-search",
            "members": [{"value": str(local["staff"].pk)}, {"value": dana["id"]}],
        },
        status=400,
    )
    scim.call(
        "post",
        "Groups",
        {"schemas": [GROUP], "displayName": "eng-x", "members": [{"value": str(carol.pk)}]},
        status=400,
    )
    from django.contrib.auth.models import Group

    assert not Group.objects.filter(name="scim:eng-x").exists()  # nothing half-written
    assert not Membership.objects.filter(team=search).exclude(user_id=dana["id"]).exists()
    assert not carol.groups.filter(name__startswith="scim:").exists()
    # The SCIM user is added as usual.
    scim.call(
        "patch",
        f"Groups/{group['id']}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": dana["id"]}]}],
        },
    )
    assert Membership.objects.get(team=search, user_id=dana["id"]).source == MembershipSource.SCIM


def test_scim_group_answers_list_only_scim_users(scim, local):
    """A local user put into a SCIM group some other way is not shown to SCIM."""
    from django.contrib.auth.models import Group

    group = scim.call("post", "Groups", {"schemas": [GROUP], "displayName": "eng-all"}, status=201)
    dana = provision(scim, "dana")
    Group.objects.get(pk=group["id"]).user_set.add(local["carol"], User.objects.get(pk=dana["id"]))
    members = scim.call("get", f"Groups/{group['id']}")["members"]
    assert [m["value"] for m in members] == [dana["id"]]


def admin_client(user: Any, page: str) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get(page).status_code == 200
    return client, client.cookies["csrftoken"].value


USERS_ADMIN = "/admin/auth/user/"


def test_admin_hands_a_local_user_to_scim_audited(scim, local):
    from idp.models import AuditEvent

    root, carol = local["root"], local["carol"]
    client, token = admin_client(root, USERS_ADMIN)
    done = client.post(
        USERS_ADMIN,
        {
            "csrfmiddlewaretoken": token,
            "action": "hand_to_scim",
            "_selected_action": [carol.pk],
        },
    )
    assert done.status_code == 302
    event = AuditEvent.objects.get(action=AuditAction.USER_HANDED_TO_SCIM)
    assert (event.actor_name, event.target_id) == ("root", str(carol.pk))
    # Now SCIM sees, updates and deactivates carol.
    assert scim.call("get", by_name("carol"))["Resources"][0]["id"] == str(carol.pk)
    scim.call(
        "patch",
        f"Users/{carol.pk}",
        {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "userName", "value": "c"}]},
    )
    scim.call("delete", f"Users/{carol.pk}", status=204)
    carol.refresh_from_db()
    assert (carol.username, carol.is_active) == ("c", False)


@pytest.mark.parametrize("who", ["root", "staff", "breakglass", "service"])
def test_the_admin_action_refuses_privileged_accounts(scim, local, who):
    from idp.models import AuditEvent, SCIMIdentity

    client, token = admin_client(local["root"], USERS_ADMIN)
    answer = client.post(
        USERS_ADMIN,
        {
            "csrfmiddlewaretoken": token,
            "action": "hand_to_scim",
            "_selected_action": [local[who].pk],
        },
        follow=True,
    )
    assert answer.status_code == 200
    assert "never managed by SCIM" in answer.content.decode()
    assert not SCIMIdentity.objects.filter(user=local[who]).exists()
    assert not AuditEvent.objects.filter(action=AuditAction.USER_HANDED_TO_SCIM).exists()
    scim.call("get", f"Users/{local[who].pk}", status=404)


def test_the_command_hands_over_and_refuses_what_the_action_refuses(scim, local, platform_admin):
    out = StringIO()
    call_command("hand_user_to_scim", "carol", "--actor", "padmin", stdout=out)
    assert "carol" in out.getvalue()
    scim.call("get", f"Users/{local['carol'].pk}")
    with pytest.raises(CommandError, match="never managed by SCIM"):
        call_command("hand_user_to_scim", "root", "--actor", "padmin")
    with pytest.raises(CommandError, match="not a platform admin"):
        call_command("hand_user_to_scim", "staffer", "--actor", "mallory")


def test_a_scim_user_who_becomes_privileged_leaves_scim(scim, local):
    """The marker never outranks the account: a SCIM user made staff, superuser or platform
    admin is invisible to SCIM from then on."""
    dana = provision(scim, "dana")
    user = User.objects.get(pk=dana["id"])
    services.set_platform_admin(user, True)
    scim.call("get", f"Users/{user.pk}", status=404)
    services.set_platform_admin(user, False)
    scim.call("get", f"Users/{user.pk}")
    User.objects.filter(pk=user.pk).update(is_staff=True)
    scim.call("delete", f"Users/{user.pk}", status=404)
    assert User.objects.get(pk=user.pk).is_active
