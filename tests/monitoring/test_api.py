"""The monitoring API: team-scoped costs, budgets CRUD, alerts, metrics, analytics."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from idp.choices import Role
from monitoring.models import Alert, Budget, CostRecord, MetricSample
from tests.utils import assert_error, assert_ok


@pytest.fixture
def costs_seeded(teams: dict) -> date:
    today = timezone.now().date()
    for team, amount in (("payments", "4.00"), ("search", "9.00")):
        for offset in range(3):
            CostRecord.objects.create(
                team=teams[team],
                service_slug=f"{team}-api",
                environment_slug="dev",
                date=today - timedelta(days=offset),
                amount=Decimal(amount),
            )
    return today


def test_costs_are_team_scoped(api_as: Any, alice: Any, costs_seeded: date) -> None:
    api = api_as(alice)
    start = (costs_seeded - timedelta(days=2)).isoformat()
    body = assert_ok(
        api.get("/api/v1/costs/", {"team": "payments", "start": start, "group_by": "service"})
    )
    assert body["total"] == "12.00"
    assert body["results"] == [{"key": "payments-api", "amount": "12.00"}]
    # Without a team: only what alice may see.
    body = assert_ok(api.get("/api/v1/costs/", {"start": start, "group_by": "team"}))
    assert [r["key"] for r in body["results"]] == ["payments"]
    daily = assert_ok(api.get("/api/v1/costs/", {"team": "payments", "start": start}))
    assert [r["amount"] for r in daily["results"]] == ["4.00", "4.00", "4.00"]
    # Another team's slug reads exactly like an unknown one.
    assert_error(api.get("/api/v1/costs/", {"team": "search"}), 400, "team")
    assert_error(api.get("/api/v1/costs/", {"team": "nope"}), 400, "team")
    assert_error(api.get("/api/v1/costs/", {"group_by": "colour"}), 400, "group_by")
    assert_error(api.get("/api/v1/costs/", {"month": "2026-13"}), 400, "month")


def test_budget_crud_for_team_admins(
    api_as: Any, alice: Any, make_user: Any, teams: dict, carol: Any
) -> None:
    admin = make_user("erin", team=teams["payments"], role=Role.ADMIN)
    api = api_as(admin)
    assert_error(
        api.post("/api/v1/budgets/", {"team": "payments", "monthly_amount": -1}),
        400,
        "monthly_amount",
    )
    assert_error(
        api.post("/api/v1/budgets/", {"team": "payments", "monthly_amount": "lots"}),
        400,
        "monthly_amount",
    )
    assert_error(
        api.post(
            "/api/v1/budgets/",
            {
                "team": "payments",
                "monthly_amount": 10,
                "thresholds": [{"percent": 80, "kind": "x"}],
            },
        ),
        400,
        "thresholds",
    )
    assert_error(api.post("/api/v1/budgets/", {"team": "nope", "monthly_amount": 1}), 400, "team")
    assert_error(api.post("/api/v1/budgets/", {"team": "search", "monthly_amount": 1}), 400, "team")
    assert not Budget.objects.exists()
    created = assert_ok(
        api.post("/api/v1/budgets/", {"team": "payments", "monthly_amount": "250"}), 201
    )
    assert created["monthly_amount"] == "250.00" and len(created["thresholds"]) == 3
    assert_error(api.post("/api/v1/budgets/", {"team": "payments", "monthly_amount": 1}), 409)
    # A member sees it, but may not change it; another team does not see it.
    assert assert_ok(api_as(alice).get("/api/v1/budgets/"))["results"][0]["id"] == created["id"]
    assert_error(
        api_as(alice).patch(f"/api/v1/budgets/{created['id']}/", {"monthly_amount": 1}), 403
    )
    assert_error(api_as(carol).get(f"/api/v1/budgets/{created['id']}/"), 404)
    changed = assert_ok(api.patch(f"/api/v1/budgets/{created['id']}/", {"monthly_amount": 300.5}))
    assert changed["monthly_amount"] == "300.50"
    assert_error(
        api.patch(f"/api/v1/budgets/{created['id']}/", {"monthly_amount": "-3"}),
        400,
        "monthly_amount",
    )
    assert Budget.objects.get().monthly_amount == Decimal("300.50")
    assert api.delete(f"/api/v1/budgets/{created['id']}/").status_code == 204
    assert not Budget.objects.exists()


def test_alerts_metrics_and_analytics_are_scoped(
    api_as: Any, alice: Any, carol: Any, teams: dict, make_resource: Any
) -> None:
    budget = Budget.objects.create(team=teams["payments"], monthly_amount=Decimal("10"))
    Alert.objects.create(
        team=teams["payments"],
        budget=budget,
        threshold=80,
        kind="actual",
        period="2026-11",
        amount=Decimal("9"),
        budget_amount=Decimal("10"),
        message="m",
    )
    queue = make_resource(teams["payments"], "sqs-queue", "q")
    created = timezone.now() - timedelta(hours=2)
    from provisioning.models import Resource

    Resource.objects.filter(pk=queue.pk).update(created_at=created)
    MetricSample.objects.create(
        resource=queue,
        resource_type="sqs",
        metric="ApproximateNumberOfMessagesVisible",
        timestamp=timezone.now(),
        value=4,
    )
    alerts = assert_ok(api_as(alice).get("/api/v1/alerts/"))
    assert [a["threshold"] for a in alerts["results"]] == [80]
    assert assert_ok(api_as(carol).get("/api/v1/alerts/"))["results"] == []
    assert_error(api_as(carol).get("/api/v1/alerts/", {"team": "payments"}), 400, "team")
    samples = assert_ok(api_as(alice).get("/api/v1/metrics/", {"resource": queue.pk}))
    assert samples["results"][0]["value"] == 4
    assert_error(api_as(carol).get("/api/v1/metrics/", {"resource": queue.pk}), 404)
    usage = assert_ok(api_as(alice).get("/api/v1/analytics/", {"team": "payments", "period": 7}))
    assert usage["requests_total"] == 1
    assert usage["requests_by_template"] == [{"template": "sqs-queue", "count": 1}]
    assert usage["lead_time_minutes"]["count"] == 1 and usage["lead_time_minutes"]["p50"] >= 119
    assert_error(api_as(alice).get("/api/v1/analytics/", {"period": 12}), 400, "period")
    assert_error(api_as(alice).get("/api/v1/analytics/", {"team": "search"}), 400, "team")
    assert_error(api_as(alice).get("/api/v1/analytics/", {"team": "zzz"}), 400, "team")


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "/api/v1/costs/", {"start": "2026-02-30"}),
        ("get", "/api/v1/costs/", {"start": "2026-05-01", "end": "2026-04-01"}),
        ("get", "/api/v1/costs/", {"month": "1-2-3"}),
        ("get", "/api/v1/metrics/", {"resource": "abc"}),
        ("get", "/api/v1/metrics/", {"since": "2026-13-45T00:00:00"}),
        ("get", "/api/v1/budgets/", {"team": "nope"}),
        ("get", "/api/v1/analytics/", {"period": "ninety"}),
        ("post", "/api/v1/budgets/", [1, 2]),
        ("post", "/api/v1/budgets/", {"team": "payments", "monthly_amount": {"a": 1}}),
        ("post", "/api/v1/budgets/", {"team": "payments", "monthly_amount": True}),
        ("post", "/api/v1/budgets/", {"team": "payments", "monthly_amount": 5, "thresholds": "x"}),
        ("post", "/api/v1/budgets/", {"team": "payments", "monthly_amount": "1e400"}),
    ],
)
def test_bad_input_is_400_never_500(
    api_as: Any, make_user: Any, teams: dict, method: str, path: str, data: Any
) -> None:
    admin = make_user("erin", team=teams["payments"], role=Role.ADMIN)
    response = getattr(api_as(admin), method)(path, data)
    assert_error(response, 400)
    assert not Budget.objects.exists()
