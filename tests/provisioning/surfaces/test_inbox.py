"""The approvals inbox: the action (who sees which plan, per the approval policy) and
GET /api/v1/approvals/ (list and item), with the badge count's query budget."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from provisioning import actions
from provisioning.actions import proposals
from provisioning.approval_policy import approval_ttl
from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.crypto import encrypt_json
from provisioning.models import Approval, Run
from tests.utils import assert_error, assert_ok

NEEDS_ONE = {
    "approvals": 1,
    "platform_admin": False,
    "reasons": ["prod requires 1 approval"],
    "estimated_monthly_cost": "6.00",
}
OVER_BUDGET = {
    "approvals": 1,
    "platform_admin": True,
    "reasons": ["its estimate ($900.00/month) takes payments over its budget"],
    "estimated_monthly_cost": "900.00",
}


@pytest.fixture
def awaiting_plan(make_resource, make_run, envs, teams) -> Any:
    """A plan of `team` in prod awaiting approval, asked for by `by`."""

    def make(name: str, by: Any, *, team: str = "payments", **run: Any) -> Run:
        resource = make_resource(
            teams[team],
            name,
            environment=envs["prod"],
            status=ResourceStatus.AWAITING_APPROVAL,
            requested_by=by,
        )
        run.setdefault("approval_requirement", NEEDS_ONE)
        run.setdefault("plan_summary", {"add": 1, "change": 0, "destroy": 0, "resources": []})
        return make_run(
            resource,
            created_by=by,
            plan_hash="a" * 64,
            finished_at=timezone.now() - timedelta(minutes=5),
            **run,
        )

    return make


def _ids(user: Any) -> list[int]:
    return [i.plan_run for i in actions.inbox_items(user)]


def test_bob_sees_alices_prod_plan_and_nobody_else_does(
    awaiting_plan, alice, bob, carol, viewer, platform_admin
):
    plan = awaiting_plan("app-config", alice)
    assert _ids(bob) == [plan.pk]
    assert _ids(alice) == []  # her own request: four eyes
    assert _ids(carol) == []  # another team
    assert _ids(viewer) == []  # a viewer may not decide
    assert _ids(platform_admin) == [plan.pk]
    assert actions.inbox_count(bob) == 1 and actions.inbox_count(alice) == 0
    # The plan the inbox names is the one the approve action decides on.
    assert plan.pk == proposals.plan_awaiting_decision(plan.resource).pk


def test_item_describes_the_plan(awaiting_plan, make_resource, make_run, alice, bob, envs, teams):
    plan = awaiting_plan("app-config", alice)
    [item] = actions.inbox_items(bob)
    data = item.as_json()
    assert data["id"] == data["plan_run"] == plan.pk
    assert data["resource"] == {"id": plan.resource_id, "name": "app-config"}
    assert (data["team"], data["environment"], data["template"]) == (
        "payments",
        "prod",
        "example-config",
    )
    assert data["version"] == 1 and data["current_version"] is None
    assert data["change"] == "create" and data["requested_by"] == "alice"
    assert data["plan_counts"] == {"add": 1, "change": 0, "destroy": 0}
    assert data["changed_parameters"] == ["message"]
    assert data["estimated_monthly_cost"] == "6.00"
    assert data["budget_effect"] == {
        "current_monthly_cost": "0.00",
        "monthly_cost_change": "6.00",
        "needs_platform_admin": False,
        "reasons": ["prod requires 1 approval"],
    }
    assert data["approvals"] == {
        "needed": 1,
        "given": 0,
        "approved_by": [],
        "role": "",
        "summary": "1 approval",
        "reasons": ["prod requires 1 approval"],
        "risk": 0,
    }
    assert data["approval_closes_at"] == plan.finished_at + approval_ttl()


def test_a_change_lists_changed_parameters_and_cost_change(
    make_resource, make_run, alice, bob, envs, teams
):
    """A provisioned resource whose change alice planned: the names that change (a secret's
    name, never its value) and the cost beside what the applied plan estimated."""
    resource = make_resource(
        teams["payments"],
        "cfg",
        environment=envs["prod"],
        provisioned_at=timezone.now(),
        parameters={"message": "hello"},
        sensitive_parameters=encrypt_json({"token": "old"}),
    )
    applied = make_run(
        resource, approval_requirement={**NEEDS_ONE, "estimated_monthly_cost": "1.50"}
    )
    make_run(resource, kind=RunKind.APPLY, plan_run=applied)
    # The proposed change starts after what was applied.
    resource.proposal_after_run = proposals.last_run_id(resource)
    resource.status = ResourceStatus.AWAITING_APPROVAL
    resource.save()
    plan = Run.objects.create(
        resource=resource,
        kind=RunKind.PLAN,
        status=RunStatus.SUCCEEDED,
        template_version=resource.template_version,
        parameters={"message": "changed"},
        sensitive_parameters=encrypt_json({"token": "new"}),
        created_by=alice,
        plan_hash="c" * 64,
        plan_summary={"add": 0, "change": 1, "destroy": 0},
        approval_requirement=NEEDS_ONE,
        finished_at=timezone.now(),
    )
    [item] = actions.inbox_items(bob)
    data = item.as_json()
    assert data["plan_run"] == plan.pk and data["change"] == "change"
    assert data["current_version"] == 1
    assert data["changed_parameters"] == ["message", "token"]
    assert data["plan_counts"] == {"add": 0, "change": 1, "destroy": 0}
    assert data["budget_effect"]["current_monthly_cost"] == "1.50"
    assert data["budget_effect"]["monthly_cost_change"] == "4.50"
    assert "new" not in str(data) and "old" not in str(data)


def test_over_budget_only_for_a_platform_admin(awaiting_plan, alice, bob, platform_admin):
    plan = awaiting_plan("big", alice, approval_requirement=OVER_BUDGET)
    assert _ids(bob) == []
    [item] = actions.inbox_items(platform_admin)
    assert item.plan_run == plan.pk
    effect = item.as_json()["budget_effect"]
    assert effect["needs_platform_admin"] is True and "over its budget" in effect["reasons"][0]


def test_own_request_expired_and_unfinished_plans_are_left_out(
    awaiting_plan, make_run, alice, bob, make_user, teams
):
    mine = awaiting_plan("bobs-own", bob)
    expired = awaiting_plan("too-old", alice)
    Run.objects.filter(pk=expired.pk).update(
        finished_at=timezone.now() - approval_ttl() - timedelta(minutes=1)
    )
    replanning = awaiting_plan("replanning", alice)
    newer = make_run(replanning.resource, created_by=alice, status=RunStatus.RUNNING)
    assert _ids(bob) == []
    # Another maintainer may decide on bob's request.
    dave = make_user("dave", team=teams["payments"], role="maintainer")
    assert _ids(dave) == [mine.pk]
    assert newer.pk not in _ids(dave)


def test_approved_once_leaves_my_inbox_but_not_the_second_approvers(
    awaiting_plan, alice, bob, make_user, teams
):
    plan = awaiting_plan("two-eyes", alice, approval_requirement={**NEEDS_ONE, "approvals": 2})
    dave = make_user("dave", team=teams["payments"], role="admin")
    actions.approve(plan.resource, actor=bob, plan_run=plan.pk)
    assert _ids(bob) == []
    [item] = actions.inbox_items(dave)
    approvals = item.as_json()["approvals"]
    assert (approvals["needed"], approvals["given"], approvals["approved_by"]) == (2, 1, ["bob"])
    assert approvals["summary"] == "2 approvals"


def _queries(fn: Any) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        result = fn()
    return result, [q["sql"] for q in ctx.captured_queries]


def test_count_query_budget(awaiting_plan, alice, bob, make_user, teams):
    """The badge: two queries to find the candidates, two per candidate the user may decide
    on (who touched it, its approvals); none per candidate their role rules out."""
    for i in range(3):
        awaiting_plan(f"r-{i}", alice)
    actions.inbox_count(bob)  # grants loaded once per user object
    count, sql = _queries(lambda: actions.inbox_count(bob))
    assert count == 3
    assert len(sql) <= 2 + 2 * 3, "\n".join(sql)
    actions.inbox_count(alice)
    count, sql = _queries(lambda: actions.inbox_count(alice))
    assert count == 0 and len(sql) <= 2, "\n".join(sql)  # a member: refused by role
    victor = make_user("victor2", team=teams["payments"], role="viewer")
    actions.inbox_count(victor)
    count, sql = _queries(lambda: actions.inbox_count(victor))
    assert count == 0 and len(sql) <= 2, "\n".join(sql)


def test_badge_is_counted_once_per_page(awaiting_plan, alice, bob, client_as):
    awaiting_plan("app-config", alice)
    client = client_as(bob)
    client.get("/resources/")
    with CaptureQueriesContext(connection) as ctx:
        page = client.get("/resources/")
    assert b'class="badge warn inbox-count"' in page.content
    assert b'aria-label="1 plan awaits your decision"' in page.content
    inbox_queries = [q["sql"] for q in ctx.captured_queries if "awaiting_approval" in q["sql"]]
    assert len(inbox_queries) == 1, inbox_queries
    page = client_as(alice).get("/resources/")
    assert b'class="badge warn inbox-count"' not in page.content


def test_badge_stops_counting_past_its_most(
    awaiting_plan, alice, bob, client_as, monkeypatch
) -> None:
    """Past BADGE_MAX plans the badge says "N+", and its count reads at most N + 1 rows: a
    page costs the same with 5,000 plans waiting as with 100."""
    from provisioning.actions import inbox

    monkeypatch.setattr(inbox, "BADGE_MAX", 2)
    for name in ("a-config", "b-config", "c-config"):
        awaiting_plan(name, alice)
    assert actions.inbox_count(bob) == 3
    assert actions.inbox_count(bob, at_most=2) == 3  # stops at the first past the most
    assert actions.inbox_count(bob, at_most=1) == 2

    with CaptureQueriesContext(connection) as ctx:
        page = client_as(bob).get("/resources/")
    assert b'aria-label="more than 2 plans await your decision">2+</span>' in page.content
    (count,) = [q["sql"] for q in ctx.captured_queries if "awaiting_approval" in q["sql"]]
    assert "LIMIT 3" in count, count


# --- API -------------------------------------------------------------------------------


def test_api_lists_only_what_the_caller_may_decide(
    api_as, awaiting_plan, alice, bob, carol, viewer, platform_admin
):
    plan = awaiting_plan("app-config", alice)
    big = awaiting_plan("big", alice, approval_requirement=OVER_BUDGET)
    body = assert_ok(api_as(bob).get("/api/v1/approvals/"))
    assert body["count"] == 1 and [i["id"] for i in body["results"]] == [plan.pk]
    row = body["results"][0]
    assert row["resource"]["name"] == "app-config" and row["requested_by"] == "alice"
    assert row["approval_closes_at"].endswith("Z") or "+" in row["approval_closes_at"]
    for user in (alice, carol, viewer):
        assert assert_ok(api_as(user).get("/api/v1/approvals/"))["count"] == 0
    admin = assert_ok(api_as(platform_admin).get("/api/v1/approvals/"))
    assert {i["id"] for i in admin["results"]} == {plan.pk, big.pk}
    paged = assert_ok(api_as(platform_admin).get("/api/v1/approvals/?page_size=1&page=2"))
    assert paged["count"] == 2 and len(paged["results"]) == 1
    assert_error(api_as(platform_admin).get("/api/v1/approvals/?page=9"), 404)
    assert_error(api_as(None).get("/api/v1/approvals/"), 401)


def test_api_item_and_404s(api_as, awaiting_plan, make_run, alice, bob, carol, viewer):
    plan = awaiting_plan("app-config", alice)
    body = assert_ok(api_as(bob).get(f"/api/v1/approvals/{plan.pk}/"))
    assert body["id"] == plan.pk and body["team"] == "payments"
    assert body["approvals"]["needed"] == 1
    for user in (alice, carol, viewer):
        assert_error(api_as(user).get(f"/api/v1/approvals/{plan.pk}/"), 404)
    assert_error(api_as(bob).get("/api/v1/approvals/999999/"), 404)
    assert_error(api_as(bob).get(f"/api/v1/approvals/{2**63}/"), 404)


def test_approve_from_the_inbox_names_the_plan(api_as, awaiting_plan, make_run, alice, bob):
    plan = awaiting_plan("app-config", alice)
    [row] = assert_ok(api_as(bob).get("/api/v1/approvals/"))["results"]
    # alice plans again after bob loaded the inbox: his decision must not land on the new plan.
    newer = make_run(
        plan.resource,
        created_by=alice,
        plan_hash="d" * 64,
        finished_at=timezone.now(),
        approval_requirement=NEEDS_ONE,
    )
    url = f"/api/v1/resources/{row['resource']['id']}/approve/"
    assert_error(api_as(bob).post(url, {"plan_run": row["plan_run"]}), 409, "plan_run")
    assert_error(api_as(bob).get(f"/api/v1/approvals/{plan.pk}/"), 404)  # no longer awaiting
    assert_ok(api_as(bob).post(url, {"plan_run": newer.pk}))
    assert Approval.objects.get().run_id == newer.pk
    assert assert_ok(api_as(bob).get("/api/v1/approvals/"))["count"] == 0


# --- Portal ----------------------------------------------------------------------------

INBOX = "/resources/approvals/"


def test_inbox_page_lists_and_approves_the_plan_shown(awaiting_plan, alice, bob, client_as):
    plan = awaiting_plan("app-config", alice)
    client = client_as(bob)
    page = client.get(INBOX).content.decode()
    assert f'data-plan-run="{plan.pk}"' in page and "app-config" in page
    assert "$6.00" in page and "0 of 1" in page
    response = client.post(f"{INBOX}{plan.pk}/approve/", follow=True)
    assert "app-config approved; the apply is queued." in response.content.decode()
    plan.resource.refresh_from_db()
    assert plan.resource.status == ResourceStatus.APPLYING
    assert Approval.objects.get().run_id == plan.pk
    page = client.get(INBOX).content.decode()
    assert "Nothing awaits your decision." in page and "badge warn inbox-count" not in page


def test_inbox_approve_refuses_others(
    awaiting_plan, make_run, alice, bob, carol, viewer, client_as
):
    plan = awaiting_plan("app-config", alice)
    url = f"{INBOX}{plan.pk}/approve/"
    assert client_as(carol).post(url).status_code == 404  # another team's plan
    assert client_as(carol).get(INBOX).content.decode().count('class="inbox-item"') == 0
    refused = client_as(alice).post(url, follow=True).content.decode()
    assert "does not allow you to approve" in refused  # a member, and her own request
    refused = client_as(viewer).post(url, follow=True).content.decode()
    assert "does not allow you to approve" in refused
    make_run(plan.resource, created_by=alice, plan_hash="e" * 64, finished_at=timezone.now())
    stale = client_as(bob).post(url, follow=True).content.decode()
    assert f"Plan run {plan.pk} is no longer the one awaiting approval" in stale
    assert not Approval.objects.exists()
    assert client_as(bob).get(url).status_code == 405


PRICED = {
    "monthly_before": "17.43",
    "monthly_after": "128.39",
    "delta": "110.96",
    "currency": "USD",
    "lines": [
        {
            "address": "aws_db_instance.this",
            "type": "aws_db_instance",
            "action": "update",
            "monthly_before": "17.43",
            "monthly": "128.39",
            "delta": "110.96",
            "basis": "db.m7g.large $0.168/h × 730 h + 50 GB gp3 × $0.115, Single-AZ",
        },
        {
            "address": "aws_security_group.this",
            "type": "aws_security_group",
            "action": "no-op",
            "monthly_before": "0.00",
            "monthly": "0.00",
            "delta": "0.00",
            "basis": "no charge",
        },
    ],
    "unpriced": [],
    "catalog": {"region": "us-east-1", "source": "shipped", "source_date": "2026-11-01"},
}


def test_the_inbox_shows_the_plans_cost_delta_line_by_line(
    awaiting_plan, bob, alice, api_as, client_as
):
    plan = awaiting_plan(
        "orders-db",
        alice,
        cost=PRICED,
        approval_requirement={**NEEDS_ONE, "estimated_monthly_cost": "128.39"},
    )
    [item] = actions.inbox_items(bob)
    # The change of cost is the plan's own, priced before and after.
    assert item.monthly_cost_change == Decimal("110.96")
    assert item.current_monthly_cost == Decimal("17.43")
    [body] = assert_ok(api_as(bob).get("/api/v1/approvals/"))["results"]
    assert body["id"] == plan.pk
    assert body["cost"]["lines"][0]["basis"].startswith("db.m7g.large")
    assert body["budget_effect"]["monthly_cost_change"] == "110.96"
    page = client_as(bob).get(INBOX).content.decode()
    assert "aws_db_instance.this</code> +$110.96" in page
    assert "aws_security_group.this</code> +" not in page  # unchanged lines are left out
