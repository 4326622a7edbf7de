"""Team service accounts: made by maintainers, listed on the team page, acting through
their own team-limited tokens, audited as themselves with their creator, never approving."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from idp import services
from idp.models import APIToken, AuditEvent, ServiceAccount
from provisioning.actions import approvals
from provisioning.approval_policy import ApprovalPolicy
from provisioning.choices import ResourceStatus
from provisioning.models import Resource
from tests.helpers import bearer
from tests.utils import assert_error, assert_ok

BASE = "/api/v1/teams/payments/service-accounts/"
REQUEST = {
    "template": "example-config",
    "team": "payments",
    "environment": "dev",
    "name": "ci-sandbox",
    "parameters": {"message": "from CI"},
}


@pytest.fixture
def ci_token(api_as, bob) -> str:
    """payments' service account `ci`, made by bob (a maintainer), and a token of it."""
    api = api_as(bob)
    assert_ok(api.post(BASE, {"name": "ci", "description": "GitHub Actions"}), 201)
    return assert_ok(api.post(f"{BASE}ci/tokens/", {"name": "deploy"}), 201)["token"]


def test_maintainers_create_and_members_see_service_accounts(api_as, alice, bob, carol, client_as):
    body = assert_ok(api_as(bob).post(BASE, {"name": "ci", "description": "CI"}), 201)
    assert body["username"] == "sa:payments:ci" and body["created_by"] == "bob"
    assert body["role"] == "member" and body["enabled"] is True
    account = ServiceAccount.objects.get(name="ci")
    assert not account.user.has_usable_password()
    # A member sees it; only maintainers create; another team's people get 404.
    assert [a["name"] for a in assert_ok(api_as(alice).get(BASE))] == ["ci"]
    assert_error(api_as(alice).post(BASE, {"name": "other"}), 403)
    assert_error(api_as(carol).get(BASE), 404)
    assert_error(api_as(carol).get(f"{BASE}ci/"), 404)
    # Bad input and duplicates.
    assert_error(api_as(bob).post(BASE, {"name": "Not Valid"}), 400, "name")
    assert_error(api_as(bob).post(BASE, {"name": "ci"}), 409, "name")
    assert_error(api_as(bob).post(BASE, {"name": "boss", "role": "admin"}), 400, "role")
    # Listed on the team page.
    page = client_as(alice).get("/teams/payments/").content.decode()
    assert 'id="service-account-ci"' in page and "sa:payments:ci" in page


def test_service_account_token_creates_a_sandbox_resource_audited_as_itself(
    ci_token, envs, template
):
    created = assert_ok(bearer(ci_token).post("/api/v1/resources/", REQUEST), 201)
    assert created["requested_by"] == "sa:payments:ci"
    event = AuditEvent.objects.filter(
        target_id=str(created["id"]), target_type="provisioning.resource"
    ).first()
    assert event is not None and event.actor_name == "sa:payments:ci"
    assert event.details["service_account_created_by"] == "bob"
    token = APIToken.objects.get(name="deploy")
    assert token.team.slug == "payments" and token.scopes == ["read", "write"]


def test_service_account_never_approves(ci_token, api_as, bob, alice, make_resource, envs, teams):
    # Its tokens cannot carry the approve scope...
    assert_error(
        api_as(bob).post(f"{BASE}ci/tokens/", {"scopes": ["read", "write", "approve"]}),
        400,
        "scopes",
    )
    # ...and even as a maintainer it is no approver (the approval policy says so).
    assert_ok(api_as(bob).patch(f"{BASE}ci/", {"role": "maintainer"}))
    resource = make_resource(
        teams["payments"],
        "cfg",
        environment=envs["prod"],
        status=ResourceStatus.AWAITING_APPROVAL,
        requested_by=alice,
    )
    body = assert_error(bearer(ci_token).post(f"/api/v1/resources/{resource.pk}/approve/", {}), 403)
    assert body["detail"] == "This token lacks the 'approve' scope."
    account = ServiceAccount.objects.get(name="ci")
    refusal = ApprovalPolicy.of(resource).refusal(resource, None, account.user)
    assert refusal == "A service account never approves or rejects plans"
    with pytest.raises(approvals.Forbidden, match="never approves"):
        approvals.approve(resource, actor=account.user)


def test_service_account_token_is_limited_to_its_team(ci_token, carol, make_resource, teams):
    theirs = make_resource(teams["search"], "search-cfg")
    api = bearer(ci_token)
    assert_error(api.get("/api/v1/teams/search/"), 404)
    assert_error(api.get(f"/api/v1/resources/{theirs.pk}/"), 404)
    assert [t["slug"] for t in assert_ok(api.get("/api/v1/teams/"))["results"]] == ["payments"]


def test_disabling_stops_its_tokens_and_tokens_are_revocable(ci_token, api_as, bob):
    api = api_as(bob)
    assert_ok(bearer(ci_token).get("/api/v1/me/"))
    tokens = assert_ok(api.get(f"{BASE}ci/tokens/"))
    assert [t["name"] for t in tokens] == ["deploy"] and "token" not in tokens[0]
    assert_ok(api.delete(f"{BASE}ci/"), 204)
    assert_error(bearer(ci_token).get("/api/v1/me/"), 401)
    assert assert_ok(api.get(f"{BASE}ci/"))["enabled"] is False
    assert_error(api.post(f"{BASE}ci/tokens/", {}), 409)
    assert_ok(api.patch(f"{BASE}ci/", {"enabled": True}))
    assert_ok(bearer(ci_token).get("/api/v1/me/"))
    assert_ok(api.delete(f"{BASE}ci/tokens/{tokens[0]['id']}/"), 204)
    assert_error(bearer(ci_token).get("/api/v1/me/"), 401)
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"service_account.created", "service_account.disabled", "api_token.revoked"} <= actions


def test_create_service_account_command(bob, teams):
    out = io.StringIO()
    call_command(
        "create_service_account", "payments", "deployer", "--created-by", "bob", stdout=out
    )
    assert out.getvalue().strip() == "sa:payments:deployer"
    out = io.StringIO()
    call_command(
        "create_service_account", "payments", "nightly", "--token", "--scope", "read", stdout=out
    )
    raw = out.getvalue().strip()
    assert out.getvalue() == raw + "\n" and raw.startswith("idp_")
    assert_error(bearer(raw).post("/api/v1/resources/", REQUEST), 403)
    assert ServiceAccount.objects.get(name="deployer").created_by == bob
    # create_api_token works for service accounts too, within their limits.
    with pytest.raises(CommandError, match="approve"):
        call_command(
            "create_api_token", "sa:payments:deployer", "--scope", "approve", stdout=io.StringIO()
        )
    assert Resource.objects.count() == 0


def test_a_service_account_is_never_made_a_member(ci_token, api_as, make_user, teams):
    boss = make_user("boss")
    services.set_membership(teams["payments"], boss, "admin")
    response = api_as(boss).post(
        "/api/v1/teams/payments/members/", {"username": "sa:payments:ci", "role": "admin"}
    )
    assert_error(response, 400, "username")
    assert_error(bearer(ci_token).post("/api/v1/teams/payments/members/", {"username": "x"}), 403)


def test_platform_admins_see_and_disable_service_accounts_in_django_admin(
    ci_token, make_user, client
):
    root = make_user("root", is_staff=True, is_superuser=True)
    client.force_login(root, backend="django.contrib.auth.backends.ModelBackend")
    account = ServiceAccount.objects.get(name="ci")
    page = client.get("/admin/idp/serviceaccount/")
    assert page.status_code == 200 and b"sa:payments:ci" in page.content
    assert client.get(f"/admin/idp/serviceaccount/{account.pk}/change/").status_code == 200
    response = client.post(
        "/admin/idp/serviceaccount/",
        {"action": "disable", "_selected_action": [account.pk]},
    )
    assert response.status_code == 302
    assert_error(bearer(ci_token).get("/api/v1/me/"), 401)
    event = AuditEvent.objects.get(action="service_account.disabled")
    assert event.actor_name == "root"


def test_me_tells_a_service_account_its_team_and_token(ci_token, api_as, alice):
    me = assert_ok(bearer(ci_token).get("/api/v1/me/"))
    assert me["user"]["username"] == "sa:payments:ci"
    assert me["teams"] == [{"slug": "payments", "name": "Payments", "role": "member"}]
    assert me["service_account"] == {"team": "payments", "role": "member"}
    assert me["token"]["scopes"] == ["read", "write"] and me["token"]["team"] == "payments"
    person = assert_ok(api_as(alice).get("/api/v1/me/"))
    assert person["service_account"] is None and person["token"]["team"] is None
