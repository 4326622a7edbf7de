"""Fixtures of the security tests: the engine suite's real-Terraform fixtures (environments,
the provider-free `tf_echo` module, the S3 state bucket on moto, the in-process run driver),
and a few users and helpers the approval attacks share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from idp.choices import Role
from tests.cli.conftest import cli, token_for  # noqa: F401 - fixtures
from tests.provisioning.engine.conftest import drive, echo, envs, state  # noqa: F401 - fixtures


@pytest.fixture
def dave(make_user: Callable[..., Any], teams: dict[str, Any]) -> Any:
    """A second maintainer of payments who touched nothing."""
    return make_user("dave", team=teams["payments"], role=Role.MAINTAINER)


@pytest.fixture
def erin(make_user: Callable[..., Any], teams: dict[str, Any]) -> Any:
    """A third maintainer of payments who touched nothing."""
    return make_user("erin", team=teams["payments"], role=Role.MAINTAINER)


@pytest.fixture
def csrf_client() -> Callable[[Any, str], tuple[Client, str]]:
    """A portal client that enforces CSRF like a browser: signed in, with the token taken
    from the cookie the page it first GETs sets. Returns (client, token)."""

    def make(user: Any, page: str) -> tuple[Client, str]:
        client = Client(enforce_csrf_checks=True)
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        response = client.get(page)
        assert response.status_code == 200, (page, response.status_code)
        token = client.cookies["csrftoken"].value
        return client, token

    return make


def make_staff(user: Any) -> Any:
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def frozen(resource: Any) -> dict[str, Any]:
    """Everything an approval attack could have changed: status, decisions, the current
    configuration (sensitive values decrypted), the proposal pointer and the runs."""
    from provisioning.crypto import decrypt_json

    resource.refresh_from_db()
    return {
        "status": resource.status,
        "approvals": list(
            resource.approvals.order_by("pk").values_list(
                "decision", "decided_by_id", "break_glass", "run_id"
            )
        ),
        "parameters": dict(resource.parameters or {}),
        "secret": decrypt_json(resource.sensitive_parameters),
        "template_version": resource.template_version_id,
        "proposal_after_run": resource.proposal_after_run,
        "runs": list(resource.runs.order_by("pk").values_list("pk", "kind", "status")),
    }


def portal_messages(response: Any) -> str:
    """The text of the messages the portal queued for the next page."""
    from django.contrib.messages import get_messages

    return " | ".join(str(m) for m in get_messages(response.wsgi_request))
