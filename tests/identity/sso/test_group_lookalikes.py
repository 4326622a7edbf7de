"""Issue 24, finding 9: an IdP group whose name only looks like a mapped one (`ſ` for `s`,
the Kelvin sign for `K`, Cyrillic or fullwidth letters) grants nothing, and a mapping that
differs from an existing one only by confusable characters is refused."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from idp.auth import groups
from idp.choices import MembershipSource, Role, SSOMappingMode
from idp.models import Membership, SSOGroupMapping

from ..scim.client import GROUP, PATCH, SCIM, USER

LONG_S = "\u017f"  # ſ: casefolds and NFKC-normalises to "s"
KELVIN = "\u212a"  # K (Kelvin sign): casefolds and NFKC-normalises to "k"
CYRILLIC_A = "\u0430"  # а
FULLWIDTH_E = "\uff45"  # ｅ

LOOKALIKES_OF_ENG_PAYMENTS = [
    f"eng-payment{LONG_S}",
    f"ENG-PAYMENT{LONG_S}",
    f"eng-p{CYRILLIC_A}yments",
    f"{FULLWIDTH_E}ng-payments",
]


def preview(*names: str) -> str:
    out = StringIO()
    call_command("sso_map", "preview", *names, stdout=out)
    return out.getvalue()


@pytest.fixture
def mapped(teams: dict[str, Any]) -> dict[str, Any]:
    groups.save_mapping("eng-payments", teams["payments"], Role.MAINTAINER, SSOMappingMode.MANAGE)
    groups.save_mapping("k8s-*", teams["search"], Role.ADMIN, SSOMappingMode.MANAGE)
    return teams


@pytest.mark.parametrize("name", LOOKALIKES_OF_ENG_PAYMENTS)
def test_a_lookalike_group_grants_nothing(mapped, make_user, name):
    user = make_user("dana")
    groups.apply_idp_groups(user, [name])
    assert not Membership.objects.filter(user=user).exists()
    assert "No team" in preview(name)


@pytest.mark.parametrize("name", [f"{KELVIN}8s-admins", f"k8{LONG_S}-admins", "k8s-\u0430dmins"])
def test_a_lookalike_never_matches_a_glob(mapped, make_user, name):
    user = make_user("erin")
    groups.apply_idp_groups(user, [name])
    assert not Membership.objects.filter(user=user).exists()


def test_ascii_names_still_match_whatever_their_case(mapped, make_user):
    user = make_user("dana")
    groups.apply_idp_groups(user, ["ENG-Payments", "K8S-Admins"])
    assert dict(Membership.objects.filter(user=user).values_list("team__slug", "role")) == {
        "payments": Role.MAINTAINER,
        "search": Role.ADMIN,
    }


def test_a_non_ascii_name_matches_only_itself(teams, make_user):
    groups.save_mapping("équipe-paiements", teams["payments"], Role.MEMBER, SSOMappingMode.MANAGE)
    user = make_user("dana")
    for other in ("Équipe-paiements", "equipe-paiements", "équipe-paiement*"):
        groups.apply_idp_groups(user, [other])
        assert not Membership.objects.filter(user=user).exists(), other
    groups.apply_idp_groups(user, ["équipe-paiements"])
    assert Membership.objects.get(user=user).team == teams["payments"]


def test_a_lookalike_scim_group_grants_nothing(platform_admin, mapped):
    """The same through SCIM, as an IdP pushing a group named with a long s."""
    out = StringIO()
    call_command("create_scim_token", "--actor", "padmin", stdout=out)
    scim = SCIM(out.getvalue().strip())
    dana = scim.call("post", "Users", {"schemas": [USER], "userName": "dana"}, status=201)
    group = scim.call(
        "post",
        "Groups",
        {"schemas": [GROUP], "displayName": f"eng-payment{LONG_S}"},
        status=201,
    )
    scim.call(
        "patch",
        f"Groups/{group['id']}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": dana["id"]}]}],
        },
    )
    assert not Membership.objects.filter(user_id=dana["id"]).exists()
    scim.call(
        "patch",
        f"Groups/{group['id']}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "replace", "path": "displayName", "value": "eng-payments"}],
        },
    )
    membership = Membership.objects.get(user_id=dana["id"])
    assert membership.source == MembershipSource.SCIM


@pytest.mark.parametrize(
    "pattern",
    [
        f"eng-p{CYRILLIC_A}yments",
        f"eng-payment{LONG_S}",
        f"{FULLWIDTH_E}ng-payments",
        "eng-payme\u0578ts",  # Armenian vo, looks like n
        f"{KELVIN}8s-*",
    ],
)
def test_a_confusable_duplicate_mapping_is_refused(mapped, pattern):
    with pytest.raises(CommandError, match="confusable with the existing mapping"):
        call_command("sso_map", "add", pattern, "search", "admin")
    with pytest.raises(CommandError, match="confusable"):
        call_command("sso_map", "add", pattern, "payments", "admin")
    assert not SSOGroupMapping.objects.filter(group_pattern=pattern).exists()


def test_a_confusable_of_a_settings_mapping_is_refused(teams, settings):
    settings.IDP_SSO_GROUP_MAPPINGS = ["ops=search:viewer"]
    with pytest.raises(CommandError, match="'ops'"):
        call_command("sso_map", "add", "\u043eps", "payments", "admin")  # Cyrillic o


def test_the_admin_form_refuses_a_confusable_duplicate(client_as, make_user, mapped):
    admin = make_user("root", is_superuser=True, is_staff=True)
    response = client_as(admin).post(
        "/admin/idp/ssogroupmapping/add/",
        {
            "group_pattern": f"eng-p{CYRILLIC_A}yments",
            "team": mapped["search"].pk,
            "role": "admin",
            "mode": "manage",
        },
    )
    assert response.status_code == 200
    assert "confusable with the existing mapping" in response.content.decode()
    assert SSOGroupMapping.objects.count() == 2


def test_distinct_names_are_still_accepted(mapped):
    for pattern in ("eng-payments-ops", "ENG-PAYMENTS", "équipe-paiements", "eng-search"):
        call_command("sso_map", "add", pattern, "search", "viewer", stdout=StringIO())
    assert SSOGroupMapping.objects.count() == 6
