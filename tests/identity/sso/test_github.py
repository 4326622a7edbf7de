"""Sign-in with GitHub (allauth's provider) against a GitHub-shaped OAuth server: GitHub
sends no groups, so memberships stay what people granted."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from idp import services
from idp.auth import groups
from idp.choices import Role, SSOMappingMode
from idp.models import Membership
from tests.identity.conftest import github_sign_in

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_github_sign_in_creates_the_user_and_keeps_memberships(
    live_server, github_oauth, transactional_db, make_team: Any
):
    payments = make_team("payments")
    groups.save_mapping("eng-payments", payments, Role.MEMBER, SSOMappingMode.MANAGE)
    github_oauth.add_user("octo", email="octo@example.com")
    final, _ = github_sign_in(live_server.url, "octo")
    assert final.status_code == 200, final.text[:2000]
    assert "/accounts/sso/no-team/" in final.url  # no groups from GitHub: no team yet
    octo = get_user_model().objects.get(username="octo")
    assert octo.email == "octo@example.com"

    # A team admin adds octo by hand; the next GitHub sign-in leaves it alone.
    services.set_membership(payments, octo, Role.MAINTAINER)
    final, _ = github_sign_in(live_server.url, "octo")
    assert final.url.rstrip("/") == live_server.url
    assert Membership.objects.get(user=octo).role == Role.MAINTAINER
