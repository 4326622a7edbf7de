"""Who may use break-glass is decided once (`approval_policy.break_glass_refusal`): a
platform admin who is a person. A maintainer who may approve, and a service account even if
someone put it in the platform-admin group, are refused on every surface, and no other
module decides it on its own."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from idp import services
from idp.service_accounts import create_service_account
from provisioning import actions
from provisioning.approval_policy import break_glass_refusal
from provisioning.models import Approval
from tests.provisioning.engine.conftest import request_module
from tests.utils import assert_error

from .conftest import frozen, make_staff, portal_messages
from .test_four_eyes import CHANGELIST, api_url, awaiting, page_url

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
ONLY_ADMINS = "Only a platform admin may use break-glass"


@pytest.fixture
def admin_request(platform_admin, teams, envs, echo, state, drive) -> Any:
    """A prod plan the platform admin requested: bob (maintainer) may approve it."""
    return awaiting(
        request_module(platform_admin, teams["payments"], env="prod", name="hotfix"), drive
    )


def test_a_maintainer_who_may_approve_cannot_break_glass(
    admin_request: Any, bob: Any, api_as: Any, csrf_client: Any
) -> None:
    before = frozen(admin_request)
    client = api_as(bob)
    allowed = client.get(api_url(admin_request)).json()["allowed_actions"]
    assert "approve" in allowed and "break_glass" not in allowed
    body = assert_error(
        client.post(api_url(admin_request, "break-glass"), {"reason": "hurry"}), 403
    )
    assert body["detail"] == ONLY_ADMINS
    with pytest.raises(CommandError, match=ONLY_ADMINS):
        call_command("break_glass", str(admin_request.pk), "--as", "bob", "--reason", "hurry")
    portal, token = csrf_client(bob, page_url(admin_request))
    page = portal.post(
        page_url(admin_request, "break-glass"), {"csrfmiddlewaretoken": token, "reason": "hurry"}
    )
    assert page.status_code == 302 and ONLY_ADMINS in portal_messages(page)
    admin, token = csrf_client(make_staff(bob), CHANGELIST)
    listed = admin.get(CHANGELIST).content.decode()
    assert "break_glass_selected" not in listed
    admin.post(
        CHANGELIST,
        {
            "csrfmiddlewaretoken": token,
            "action": "break_glass_selected",
            "_selected_action": [admin_request.pk],
            "apply": "1",
            "reason": "hurry",
        },
    )
    assert frozen(admin_request) == before
    assert not Approval.objects.filter(break_glass=True).exists()


def test_a_service_account_never_breaks_glass_even_as_platform_admin(
    admin_request: Any, teams: Any, bob: Any
) -> None:
    account = create_service_account(teams["payments"], "deployer", role="maintainer", actor=bob)
    services.set_platform_admin(account.user, True)  # a misconfiguration, not a right
    before = frozen(admin_request)
    assert break_glass_refusal(account.user) == "A service account never uses break-glass"
    with pytest.raises(services.Forbidden, match="service account never uses break-glass"):
        actions.break_glass(admin_request, actor=account.user, reason="automation")
    assert "break_glass" not in actions.allowed_actions(admin_request, account.user)
    assert frozen(admin_request) == before


def test_platform_admin_person_is_eligible(platform_admin: Any, bob: Any) -> None:
    assert break_glass_refusal(platform_admin) is None
    assert break_glass_refusal(bob) == ONLY_ADMINS


def _decides_break_glass_alone(path: Path) -> list[str]:
    """Functions about break-glass (by name) that ask `is_platform_admin` themselves."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef) or "break_glass" not in node.name:
            continue
        if node.name == "break_glass_refusal" and path.name == "approval_policy.py":
            continue
        calls = [
            sub
            for sub in ast.walk(node)
            if isinstance(sub, ast.Call) and ast.unparse(sub.func).endswith("is_platform_admin")
        ]
        found += [f"{path.relative_to(ROOT)}:{c.lineno} in {node.name}" for c in calls]
    return found


def test_break_glass_eligibility_has_one_home() -> None:
    offenders = [
        found
        for app in ("provisioning", "config", "idp", "catalog", "fleet", "policies", "pipelines")
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts
        for found in _decides_break_glass_alone(path)
    ]
    assert offenders == [], offenders
    # The surfaces' own hooks ask the policy.
    for path, function in [
        ("provisioning/actions/approvals.py", "break_glass"),
        ("provisioning/actions/permissions.py", "allowed_actions"),
        ("provisioning/admin.py", "has_break_glass_permission"),
    ]:
        tree = ast.parse((ROOT / path).read_text())
        (node,) = [
            n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == function
        ]
        assert "break_glass_refusal(" in ast.unparse(node), (path, function)
