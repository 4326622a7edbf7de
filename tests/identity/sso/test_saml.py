"""SAML 2.0 sign-in through a real pysaml2 IdP process: signed assertions, SP metadata at
a stable URL, attribute mapping (e-mail, name, groups), and every refusal with a page."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from django.contrib.auth import get_user_model

from idp.auth import groups
from idp.choices import MembershipSource, Role, SSOMappingMode
from idp.models import Membership
from tests.identity.conftest import saml_sign_in

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def mapped(transactional_db: None, make_team: Any) -> dict[str, Any]:
    payments = make_team("payments")
    groups.save_mapping("eng-payments", payments, Role.MAINTAINER, SSOMappingMode.MANAGE)
    return {"payments": payments}


def test_sp_metadata_is_published_at_a_stable_url(live_server, saml):
    response = requests.get(f"{live_server.url}/accounts/sso/saml/metadata/", timeout=10)
    assert response.status_code == 200
    assert "EntityDescriptor" in response.text
    assert f"{live_server.url}/accounts/saml/idp/acs/" in response.text
    assert 'WantAssertionsSigned="true"' in response.text
    # An off-site next= is refused here as for OIDC, before the IdP is asked.
    offsite = requests.get(
        f"{live_server.url}/accounts/saml/idp/login/?next=//evil.example.com/", timeout=10
    )
    assert offsite.status_code == 400 and "points to another site" in offsite.text


def test_signed_assertion_maps_attributes_and_groups(live_server, saml, mapped):
    saml.add_user("hana", groups=["eng-payments", "unrelated"])
    final, _, _ = saml_sign_in(live_server.url, "hana")
    assert final.status_code == 200, final.text[:2000]
    assert final.url.rstrip("/") == live_server.url
    hana = get_user_model().objects.get(email="hana@example.com")
    assert (hana.username, hana.first_name, hana.last_name) == ("hana", "Hana", "Tester")
    membership = Membership.objects.get(user=hana)
    assert (membership.team, membership.role, membership.source, membership.sso_group) == (
        mapped["payments"],
        Role.MAINTAINER,
        MembershipSource.SSO,
        "eng-payments",
    )


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ({"rogue_signature": True}, "Signature validation failed"),
        ({"expired": True}, "expired"),
        ({"audience": "http://other-sp.example.com/metadata"}, "not a valid audience"),
    ],
    ids=["wrong-signature", "expired", "wrong-audience"],
)
def test_a_bad_assertion_is_refused_with_a_page(live_server, saml, mapped, fault, reason):
    saml.add_user("ivan", groups=["eng-payments"])
    saml.faults(**fault)
    final, _, _ = saml_sign_in(live_server.url, "ivan")
    assert final.status_code == 401
    assert "Sign-in refused" in final.text
    assert reason in final.text, final.text[:3000]
    assert not get_user_model().objects.filter(username="ivan").exists()


def test_a_replayed_assertion_is_refused(live_server, saml, mapped):
    saml.add_user("jo", groups=["eng-payments"])
    final, session, (acs, fields) = saml_sign_in(live_server.url, "jo")
    assert final.status_code == 200
    for replayer in (session, requests.Session()):  # the same browser, and an attacker's
        again = replayer.post(acs, data=fields, timeout=30)
        assert again.status_code == 403, again.text[:2000]
        assert "already used" in again.text
