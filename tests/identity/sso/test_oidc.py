"""OIDC sign-in through a real provider process (Authlib): PKCE, signed ID token, groups."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from idp import services
from idp.auth import groups
from idp.choices import AuditAction, MembershipSource, Role, SSOMappingMode
from idp.models import AuditEvent, Membership
from tests.identity.conftest import oidc_sign_in

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def mapped(transactional_db: None, make_team: Any) -> dict[str, Any]:
    payments, search = make_team("payments"), make_team("search")
    groups.save_mapping("eng-payments", payments, Role.MEMBER, SSOMappingMode.MANAGE)
    groups.save_mapping("eng-search-*", search, Role.VIEWER, SSOMappingMode.ADD_ONLY)
    return {"payments": payments, "search": search}


def test_group_grants_membership_and_losing_it_removes_it(live_server, oidc, mapped):
    oidc.add_user("dana", groups=["eng-payments"])
    final, _ = oidc_sign_in(live_server.url, "dana")
    assert final.status_code == 200, final.text[:2000]
    assert final.url.rstrip("/") == live_server.url  # home, as a member of a team
    dana = get_user_model().objects.get(username="dana")
    membership = Membership.objects.get(user=dana, team=mapped["payments"])
    assert (membership.role, membership.source, membership.sso_group) == (
        Role.MEMBER,
        MembershipSource.SSO,
        "eng-payments",
    )
    added = AuditEvent.objects.get(action=AuditAction.MEMBERSHIP_ADDED, details__user="dana")
    assert added.details["sso_group"] == "eng-payments"

    # The IdP drops the group: at the next sign-in the membership goes, audited.
    oidc.add_user("dana", groups=[])
    final, _ = oidc_sign_in(live_server.url, "dana")
    assert "/accounts/sso/no-team/" in final.url
    assert "not in a team yet" in final.text
    assert "your platform team" in final.text
    assert not Membership.objects.filter(user=dana).exists()
    removed = AuditEvent.objects.get(action=AuditAction.MEMBERSHIP_REMOVED, details__user="dana")
    assert removed.details["sso_group"] == "eng-payments"


def test_role_changes_with_the_group_and_manual_memberships_stay(
    live_server, oidc, mapped, settings
):
    settings.IDP_SSO_GROUP_MAPPINGS = ["payments-leads=payments:maintainer"]
    oidc.add_user("erin", groups=["eng-payments", "payments-leads", "eng-search-ui"])
    final, _ = oidc_sign_in(live_server.url, "erin")
    assert final.status_code == 200
    erin = get_user_model().objects.get(username="erin")
    roles = {m.team.slug: (m.role, m.sso_group) for m in Membership.objects.filter(user=erin)}
    assert roles == {
        "payments": (Role.MAINTAINER, "payments-leads"),
        "search": (Role.VIEWER, "eng-search-ui"),
    }
    changed_before = AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_ROLE_CHANGED).count()

    # A team admin makes erin a manual admin of a third team; SSO never touches it.
    billing = services.create_team("billing")
    services.set_membership(billing, erin, Role.ADMIN)
    # The leads group goes: back to member in payments; search is add-only so it stays.
    oidc.add_user("erin", groups=["eng-payments"])
    oidc_sign_in(live_server.url, "erin")
    roles = {m.team.slug: (m.role, m.source) for m in Membership.objects.filter(user=erin)}
    assert roles == {
        "payments": (Role.MEMBER, MembershipSource.SSO),
        "search": (Role.VIEWER, MembershipSource.SSO),
        "billing": (Role.ADMIN, MembershipSource.MANUAL),
    }
    changed = AuditEvent.objects.filter(action=AuditAction.MEMBERSHIP_ROLE_CHANGED)
    assert changed.count() == changed_before + 1
    assert changed.first().details["sso_group"] == "eng-payments"


def test_a_token_meant_for_another_client_is_refused(live_server, oidc, mapped):
    oidc.add_user("fred", groups=["eng-payments"])
    oidc.faults(audience="some-other-app")
    final, _ = oidc_sign_in(live_server.url, "fred")
    assert final.status_code == 401
    assert "Sign-in refused" in final.text
    assert not get_user_model().objects.filter(username="fred").exists()


def test_an_id_token_with_a_forged_signature_is_refused(live_server, oidc, mapped):
    oidc.add_user("ivy", groups=["eng-payments"])
    oidc.faults(wrong_key=True)
    final, _ = oidc_sign_in(live_server.url, "ivy")
    assert final.status_code == 401
    assert "Sign-in refused" in final.text
    assert not get_user_model().objects.filter(username="ivy").exists()


def test_an_off_site_next_is_refused_before_leaving_for_the_idp(live_server, oidc, mapped):
    import requests

    response = requests.get(
        f"{live_server.url}/accounts/oidc/sso/login/?next=https://evil.example.com/x", timeout=10
    )
    assert response.status_code == 400
    assert "points to another site" in response.text
    # A next on the portal itself is kept.
    oidc.add_user("gina", groups=["eng-payments"])
    final, _ = oidc_sign_in(live_server.url, "gina", next_url="/teams/")
    assert final.url.endswith("/teams/"), final.url


def test_the_provider_requires_pkce_and_the_portal_sends_it(live_server, oidc, mapped, settings):
    oidc.add_user("hal", groups=["eng-payments"])
    app = settings.SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"][0]
    app["settings"] = {**app["settings"], "oauth_pkce_enabled": False}
    final, _ = oidc_sign_in(live_server.url, "hal")
    assert final.status_code == 401  # the IdP refused the code request without a challenge
    assert not get_user_model().objects.filter(username="hal").exists()


def test_scim_user_signs_in_by_sso_and_scim_deactivation_kills_the_token(
    live_server, oidc, mapped, settings, monkeypatch, platform_admin
):
    """The whole enterprise story over real HTTP: Okta provisions dana by SCIM, she signs
    in through the IdP as that same user and works with a token; deactivation ends it."""
    import requests

    from config.settings.base import _socialaccount_providers
    from idp.auth import scim

    monkeypatch.setenv("IDP_SSO_LINK_BY_EMAIL", "true")
    settings.SOCIALACCOUNT_PROVIDERS = _socialaccount_providers()
    _, scim_token = scim.create_scim_token(name="okta", actor=platform_admin)
    okta = requests.Session()
    okta.headers.update(
        {"Authorization": f"Bearer {scim_token}", "Content-Type": "application/scim+json"}
    )
    created = okta.post(
        f"{live_server.url}/scim/v2/Users",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "dana@example.com",
            "emails": [{"primary": True, "value": "dana@example.com"}],
            "active": True,
        },
        timeout=10,
    )
    assert created.status_code == 201, created.text

    oidc.add_user("dana", groups=["eng-payments"])  # the IdP sends preferred_username "dana"
    final, browser = oidc_sign_in(live_server.url, "dana")
    assert final.url.rstrip("/") == live_server.url
    dana = get_user_model().objects.get(pk=created.json()["id"])
    assert get_user_model().objects.filter(email="dana@example.com").count() == 1
    assert Membership.objects.get(user=dana).team == mapped["payments"]

    _, raw = services.create_api_token(dana, name="laptop")
    api = {"Authorization": f"Bearer {raw}"}
    assert requests.get(f"{live_server.url}/api/v1/teams/", headers=api, timeout=10).ok
    assert browser.get(f"{live_server.url}/teams/", timeout=10).url.endswith("/teams/")

    okta.patch(
        f"{live_server.url}/scim/v2/Users/{dana.pk}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": False}}],
        },
        timeout=10,
    ).raise_for_status()
    answer = requests.get(f"{live_server.url}/api/v1/teams/", headers=api, timeout=10)
    assert answer.status_code == 401
    assert "/accounts/login/" in browser.get(f"{live_server.url}/teams/", timeout=10).url
    event = AuditEvent.objects.get(action=AuditAction.USER_DEACTIVATED)
    assert event.details["tokens_revoked"] == 1 and event.details["sessions_ended"] == 1
