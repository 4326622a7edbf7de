"""Environments and a provider-free template (the provisioning surfaces' own), so tokens
can be tried on real resource requests and approvals; a local GitHub OIDC issuer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from idp import service_accounts
from idp.models import ServiceAccount
from tests.provisioning.surfaces.conftest import envs, make_resource, template  # noqa: F401

from .github_oidc import AUDIENCE, Issuer, serve_issuer


@pytest.fixture
def issuer(settings: Any) -> Iterator[Issuer]:
    """A GitHub Enterprise issuer; its key set URL follows from it."""
    with serve_issuer() as served:
        settings.IDP_GITHUB_OIDC_ISSUER = served.url
        settings.IDP_GITHUB_OIDC_AUDIENCE = AUDIENCE
        settings.IDP_GITHUB_OIDC_JWKS_URL = ""
        yield served


@pytest.fixture
def bound(bob: Any, teams: Any) -> ServiceAccount:
    """payments' `ci`, trusting acme/payments-api on main, deploying the service `payments-api`."""
    account = service_accounts.create_service_account(teams["payments"], "ci", actor=bob)
    service_accounts.bind_github_repository(
        account,
        "acme/payments-api",
        ref_pattern="refs/heads/main",
        service_slug="payments-api",
        actor=bob,
    )
    return account
