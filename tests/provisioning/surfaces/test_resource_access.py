"""Resource-level permissions: a team admin restricts one resource to named people or a
role floor, and shares it read-only or for use with another team. Written as the attacks
first: a maintainer not named, another team's member, a member of the team shared with."""

from __future__ import annotations

from typing import Any

import pytest

from idp.choices import Role
from idp.models import AuditEvent
from provisioning import actions
from provisioning.choices import ResourceStatus
from provisioning.models import Resource

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_of_payments(make_user, teams) -> Any:
    return make_user("ada", team=teams["payments"], role=Role.ADMIN)


@pytest.fixture
def dave(make_user, teams) -> Any:
    """A second maintainer of payments, the one the restriction names."""
    return make_user("dave", team=teams["payments"], role=Role.MAINTAINER)


@pytest.fixture
def prod_db(awaiting: Resource, admin_of_payments: Any, dave: Any) -> Resource:
    """alice's prod request awaiting approval, restricted to admins and dave."""
    actions.set_access(
        awaiting,
        actor=admin_of_payments,
        restricted_to={"role": "admin", "users": ["dave"]},
        shared_with=[],
    )
    awaiting.refresh_from_db()
    return awaiting


def detail(api: Any, resource: Resource) -> dict[str, Any]:
    response = api.get(f"/api/v1/resources/{resource.pk}/")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_restriction_is_shown_and_audited(prod_db, api_as, bob, admin_of_payments) -> None:
    body = detail(api_as(bob), prod_db)
    assert body["access"] == {
        "restricted_to": {"role": "admin", "users": ["dave"]},
        "shared_with": [],
    }
    event = AuditEvent.objects.get(action="resource.access_changed")
    assert event.actor == admin_of_payments
    assert event.details["before"]["restricted_to"] is None
    assert event.details["after"]["restricted_to"] == {"role": "admin", "users": ["dave"]}


def test_a_maintainer_not_named_may_not_approve_change_or_destroy(
    prod_db, api_as, bob, dave
) -> None:
    api = api_as(bob)
    assert detail(api, prod_db)["allowed_actions"] == []
    approve = api.post(f"/api/v1/resources/{prod_db.pk}/approve/", {}, format="json")
    assert approve.status_code == 403, approve.content
    assert "restricted" in approve.json()["detail"]
    withdraw = api.post(f"/api/v1/resources/{prod_db.pk}/withdraw/")
    assert withdraw.status_code == 403
    # The inbox does not offer it to him; it does to dave.
    assert actions.inbox_count(bob) == 0
    assert actions.inbox_count(dave) == 1
    assert "approve" in detail(api_as(dave), prod_db)["allowed_actions"]


def test_named_person_approves(prod_db, api_as, dave) -> None:
    response = api_as(dave).post(f"/api/v1/resources/{prod_db.pk}/approve/", {}, format="json")
    assert response.status_code in (200, 202), response.content
    assert prod_db.approvals.filter(decided_by=dave).exists()


def test_role_floor_lets_team_admins_act(prod_db, admin_of_payments) -> None:
    assert "withdraw" in actions.allowed_actions(prod_db, admin_of_payments)


def test_destroy_of_a_restricted_provisioned_resource(
    make_resource, envs, teams, api_as, bob, dave, admin_of_payments
) -> None:
    db = make_resource(
        teams["payments"], "orders-db", environment=envs["prod"], status=ResourceStatus.PROVISIONED
    )
    actions.set_access(
        db, actor=admin_of_payments, restricted_to={"role": None, "users": ["dave"]}, shared_with=[]
    )
    refused = api_as(bob).delete(f"/api/v1/resources/{db.pk}/")
    assert refused.status_code == 403
    assert "only the people it names" in refused.json()["detail"]
    db.refresh_from_db()
    assert db.status == ResourceStatus.PROVISIONED
    assert "destroy" in actions.allowed_actions(db, dave)


def test_only_team_admins_set_access(prod_db, api_as, bob) -> None:
    response = api_as(bob).put(
        f"/api/v1/resources/{prod_db.pk}/access/", {"restricted_to": None}, format="json"
    )
    assert response.status_code == 403
    prod_db.refresh_from_db()
    assert prod_db.restricted


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"restricted_to": {"role": "owner"}}, "restricted_to"),
        ({"restricted_to": {"users": ["nobody"]}}, "restricted_to.users"),
        ({"restricted_to": {"users": ["carol"]}}, "restricted_to.users"),
        ({"restricted_to": {"role": None, "users": []}}, "restricted_to"),
        ({"shared_with": [{"team": "payments", "level": "read"}]}, "shared_with.team"),
        ({"shared_with": [{"team": "nope", "level": "read"}]}, "shared_with.team"),
        ({"shared_with": [{"team": "search", "level": "write"}]}, "shared_with"),
    ],
)
def test_bad_access_is_a_400_naming_the_field(
    awaiting, api_as, admin_of_payments, carol, body, field
) -> None:
    response = api_as(admin_of_payments).put(
        f"/api/v1/resources/{awaiting.pk}/access/", body, format="json"
    )
    assert response.status_code == 400, response.content
    errors = response.json()["detail"]
    assert field in errors or field.split(".")[0] in errors, errors
    awaiting.refresh_from_db()
    assert not awaiting.restricted
    assert actions.access_of(awaiting).shared_with == []


def test_share_read_only_with_another_team(
    awaiting, make_resource, teams, api_as, admin_of_payments, carol, bob
) -> None:
    other = make_resource(teams["payments"], "not-shared")
    api = api_as(carol)
    assert api.get(f"/api/v1/resources/{awaiting.pk}/").status_code == 404
    response = api_as(admin_of_payments).put(
        f"/api/v1/resources/{awaiting.pk}/access/",
        {"shared_with": [{"team": "search", "level": "read"}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="share-1",
    )
    assert response.status_code == 200, response.content
    assert response.json()["shared_with"] == [{"team": "search", "level": "read"}]
    body = detail(api, awaiting)
    assert body["allowed_actions"] == []
    assert body["access"]["shared_with"] == [{"team": "search", "level": "read"}]
    # Who of the owner's is named is not theirs to see.
    actions.set_access(
        awaiting,
        actor=admin_of_payments,
        restricted_to={"role": "admin", "users": ["bob"]},
        shared_with=[{"team": "search", "level": "read"}],
    )
    seen = api.get(f"/api/v1/resources/{awaiting.pk}/access/").json()
    assert seen["restricted_to"] == {"role": "admin", "users": []}
    # Its runs are readable; nothing else of the owner's is.
    runs = api.get("/api/v1/runs/", {"resource": awaiting.pk}).json()["results"]
    assert [r["resource"] for r in runs] == [awaiting.pk]
    listed = [r["id"] for r in api.get("/api/v1/resources/").json()["results"]]
    assert listed == [awaiting.pk]
    assert api.get(f"/api/v1/resources/{other.pk}/").status_code == 404
    # Reading is all: every write is refused.
    assert api.post(f"/api/v1/resources/{awaiting.pk}/withdraw/").status_code == 403
    assert api.post(f"/api/v1/resources/{awaiting.pk}/approve/", {}, format="json").status_code in (
        403,
        404,
    )
    assert actions.inbox_count(carol) == 0
    assert api.put(f"/api/v1/resources/{awaiting.pk}/access/", {}, format="json").status_code == 403


def test_unsharing_hides_it_again(awaiting, api_as, admin_of_payments, carol) -> None:
    actions.share(awaiting, actor=admin_of_payments, team="search", level="read")
    assert api_as(carol).get(f"/api/v1/resources/{awaiting.pk}/").status_code == 200
    actions.set_access(awaiting, actor=admin_of_payments, restricted_to=None, shared_with=[])
    assert api_as(carol).get(f"/api/v1/resources/{awaiting.pk}/").status_code == 404
    assert AuditEvent.objects.filter(action="resource.access_changed").count() == 2


def test_a_token_limited_to_another_team_does_not_see_the_share(
    awaiting, admin_of_payments, carol, make_team
) -> None:
    from rest_framework.test import APIClient

    from idp import services

    make_team("billing")
    services.set_membership(make_team("billing"), carol, Role.MEMBER)
    actions.share(awaiting, actor=admin_of_payments, team="search", level="read")
    _, raw = services.create_api_token(
        carol, name="billing-only", team=make_team("billing"), scopes=["read"]
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get(f"/api/v1/resources/{awaiting.pk}/").status_code == 404


# --- the portal ---------------------------------------------------------------------------


def test_portal_access_page_restricts_and_shares(
    awaiting, client_as, admin_of_payments, dave, carol
) -> None:
    client = client_as(admin_of_payments)
    url = f"/resources/{awaiting.pk}/access/"
    page = client.get(url)
    assert page.status_code == 200
    assert b"Only the people named" in page.content
    response = client.post(
        url,
        {
            "restricted": "on",
            "restricted_role": "",
            "restricted_users": ["dave"],
            "shared_read": ["search"],
        },
    )
    assert response.status_code == 302, response.content
    awaiting.refresh_from_db()
    access = actions.access_of(awaiting)
    assert access.as_json() == {
        "restricted_to": {"role": None, "users": ["dave"]},
        "shared_with": [{"team": "search", "level": "read"}],
    }
    detail_page = client.get(f"/resources/{awaiting.pk}/").content.decode()
    assert "restricted to dave; shared with search (read)" in detail_page.lower()
    assert "Change access" in detail_page
    # carol of search reads the page, without the link to change it.
    theirs = client_as(carol).get(f"/resources/{awaiting.pk}/")
    assert theirs.status_code == 200
    assert "Change access" not in theirs.content.decode()


def test_portal_refuses_a_maintainer_with_the_reason(prod_db, client_as, bob) -> None:
    client = client_as(bob)
    page = client.get(f"/resources/{prod_db.pk}/access/")
    assert page.status_code == 403
    assert "Only admins of payments" in page.content.decode()
    response = client.post(f"/resources/{prod_db.pk}/withdraw/", follow=True)
    assert "is restricted: only admins of payments and the people it names" in (
        response.content.decode()
    )
    prod_db.refresh_from_db()
    assert prod_db.status == ResourceStatus.AWAITING_APPROVAL


def test_portal_form_errors_stay_on_the_form(awaiting, client_as, admin_of_payments) -> None:
    response = client_as(admin_of_payments).post(
        f"/resources/{awaiting.pk}/access/", {"restricted": "on", "restricted_role": ""}
    )
    assert response.status_code == 400
    assert "Name at least one person or a role" in response.content.decode()
    awaiting.refresh_from_db()
    assert not awaiting.restricted


# --- Django admin -------------------------------------------------------------------------


def test_admin_refuses_a_maintainer_not_named(prod_db, client_as, bob) -> None:
    bob.is_staff = True
    bob.save(update_fields=["is_staff"])
    client = client_as(bob)
    queue = client.get("/admin/provisioning/resource/approvals/").content.decode()
    assert "Nothing awaits your decision." in queue
    plan = prod_db.runs.get()
    page = client.post(
        f"/admin/provisioning/resource/{prod_db.pk}/decide/",
        {"plan_run": plan.pk, "decision": "approve", "reason": "ok"},
        follow=True,
    ).content.decode()
    assert "is restricted" in page
    assert not prod_db.approvals.exists()
