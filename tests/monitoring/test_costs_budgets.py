"""Costs from Cost Explorer (seeded in moto over HTTP), budgets mirrored to AWS Budgets,
alerts raised once per threshold per period and emailed."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from idp.choices import Role
from monitoring.budget import budget_gate, estimate_monthly_cost
from monitoring.models import Alert, Budget, Collection, CostRecord
from monitoring.services import budgets, costs
from tests.helpers import wait_for

from .conftest import COST_HINTS, ce_day


def month_days(today: date) -> list[date]:
    return [today.replace(day=d) for d in range(1, today.day + 1)]


def test_estimate_from_cost_hints(make_version: Any) -> None:
    version = make_version(
        "postgres",
        cost_hints=COST_HINTS,
        schema={"properties": {"allocated_storage": {"type": "integer", "default": 20}}},
    )
    assert estimate_monthly_cost(version, {"allocated_storage": 100}) == Decimal("13.00")
    # Missing parameter: the schema default (20 GB); junk: ignored.
    assert estimate_monthly_cost(version, {}) == Decimal("3.80")
    assert estimate_monthly_cost(version, {"allocated_storage": "lots"}) == Decimal("1.50")
    assert estimate_monthly_cost(make_version("bare"), {"x": 1}) is None


def test_costs_ingested_idempotently_and_aggregated(
    aws: str, seed_costs: Any, teams: dict, env: Any
) -> None:
    today = timezone.now().date()
    days = [
        ce_day(d, {("payments", "checkout"): "10.00", ("search", "indexer"): "2.50"})
        for d in month_days(today)
    ]
    days.append(ce_day(today, {("ghost-team", "x"): "99"}))  # an unknown team: ignored
    seed_costs(days)
    collection = costs.collect_costs(start=today.replace(day=1), end=today + timedelta(days=1))
    assert collection.status == "succeeded", collection.errors
    payments = teams["payments"]
    assert CostRecord.objects.filter(team=payments).count() == today.day
    assert costs.month_to_date(payments, today) == Decimal("10.00") * today.day
    first, next_first = costs.month_bounds(today)
    expected_forecast = Decimal("10.00") * (next_first - first).days
    assert costs.forecast_month(payments, today) == expected_forecast
    # Same request again: moto answers the same result, records are updated, not doubled.
    again = costs.collect_costs(start=today.replace(day=1), end=today + timedelta(days=1))
    assert again.stored == collection.stored
    assert CostRecord.objects.filter(team=payments).count() == today.day
    by_service = costs.costs_by(CostRecord.objects.all(), "service")
    assert by_service[0] == {"service": "checkout", "amount": str(Decimal("10.00") * today.day)}


def test_budget_mirrored_to_aws_budgets_by_the_worker(
    celery_worker: Any, aws: str, teams: dict, bob: Any
) -> None:
    budget = budgets.save_budget(teams["payments"], monthly_amount="300", actor=bob)
    wait_for(lambda: Budget.objects.get(pk=budget.pk).aws_synced_at is not None)
    client = boto3.client("budgets", region_name="us-east-1", endpoint_url=aws)
    found = client.describe_budget(AccountId="123456789012", BudgetName="idp-payments")["Budget"]
    assert Decimal(found["BudgetLimit"]["Amount"]) == Decimal("300")
    notes = client.describe_notifications_for_budget(
        AccountId="123456789012", BudgetName="idp-payments"
    )["Notifications"]
    assert {(n["NotificationType"], n["Threshold"]) for n in notes} == {
        ("ACTUAL", 80.0),
        ("ACTUAL", 100.0),
        ("FORECASTED", 100.0),
    }
    budget.refresh_from_db()
    assert budget.aws_sync_error == ""
    first_sync = budget.aws_synced_at
    budgets.save_budget(teams["payments"], monthly_amount="450.5", actor=bob)
    wait_for(lambda: Budget.objects.get(pk=budget.pk).aws_synced_at != first_sync)
    found = client.describe_budget(AccountId="123456789012", BudgetName="idp-payments")["Budget"]
    assert Decimal(found["BudgetLimit"]["Amount"]) == Decimal("450.5")


@pytest.mark.parametrize("amount", ["-5", "abc", "", "NaN"])
def test_bad_budget_amount_is_refused(teams: dict, amount: str) -> None:
    from idp.services import ServiceError

    with pytest.raises(ServiceError) as caught:
        budgets.save_budget(teams["payments"], monthly_amount=amount)
    assert caught.value.field == "monthly_amount"
    assert not Budget.objects.exists()


def test_crossing_80_percent_raises_one_alert_and_one_email(
    aws: str,
    seed_costs: Any,
    teams: dict,
    env: Any,
    alice: Any,
    bob: Any,
    make_user: Any,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
    webhook: Any,
) -> None:
    url, received = webhook
    settings.IDP_SLACK_WEBHOOK_URL = url
    payments = teams["payments"]
    make_user("dana", team=payments, role=Role.ADMIN)
    today = date(2026, 11, 10)
    days = [ce_day(d, {("payments", "checkout"): "8.50"}) for d in month_days(today)]
    seed_costs(days)
    costs.collect_costs(start=today.replace(day=1), end=today + timedelta(days=1))
    # 85 spent of a 100 budget: 80% actual crossed; forecast (255) crosses forecast 100% too.
    budgets.save_budget(
        payments,
        monthly_amount=100,
        thresholds=[{"percent": 80, "kind": "actual"}, {"percent": 100, "kind": "actual"}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        raised = budgets.evaluate_budgets(today)
    assert [(a.threshold, a.kind, a.period) for a in raised] == [(80, "actual", "2026-11")]
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == ["bob@example.com", "dana@example.com"]
    assert "80%" in mail.outbox[0].subject
    assert len(received) == 1 and "payments" in received[0]["text"]
    # Re-running never duplicates.
    with django_capture_on_commit_callbacks(execute=True):
        assert budgets.evaluate_budgets(today) == []
        call_command("collect_costs", "--start", "2026-11-01", "--end", "2026-11-11")
    assert Alert.objects.count() == 1 and len(mail.outbox) == 1
    alert = Alert.objects.get()
    assert alert.emailed_to == ["bob@example.com", "dana@example.com"]
    assert alert.webhook_status == "HTTP 200"


def test_request_over_budget_needs_platform_admin(teams: dict, make_version: Any) -> None:
    payments = teams["payments"]
    version = make_version("postgres", cost_hints=COST_HINTS)
    today = timezone.now().date()
    resource = SimpleNamespace(team=payments)

    def request_needs_admin_approval(team: Any, version: Any, params: dict) -> tuple:
        gate = budget_gate(resource, version, params)
        return gate.platform_admin, gate.estimated_monthly_cost

    # No budget: never over.
    assert request_needs_admin_approval(payments, version, {"allocated_storage": 10}) == (
        False,
        Decimal("2.65"),
    )
    Budget.objects.create(team=payments, monthly_amount=Decimal("100"))
    CostRecord.objects.create(
        team=payments, environment_slug="dev", date=today.replace(day=1), amount=Decimal("1")
    )
    needs, estimate = request_needs_admin_approval(payments, version, {"allocated_storage": 1000})
    assert needs is True and estimate == Decimal("116.50")
    assert request_needs_admin_approval(payments, version, {"allocated_storage": 10})[0] is False


def test_failed_cost_explorer_call_is_retried_recorded_and_keeps_data(
    teams: dict, env: Any, settings: Any
) -> None:
    from tests.utils import free_port

    payments = teams["payments"]
    CostRecord.objects.create(
        team=payments, environment_slug="dev", date=date(2026, 11, 1), amount=Decimal("5")
    )
    settings.AWS_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings.IDP_AWS_RETRY_WAIT_MAX = 0.05
    collection = costs.collect_costs(start=date(2026, 11, 1), end=date(2026, 11, 2))
    assert collection.status == "failed"
    assert collection.errors and collection.errors[0]["environment"] == "dev"
    assert Collection.objects.filter(kind="costs", status="failed").exists()
    assert CostRecord.objects.get(team=payments).amount == Decimal("5")


def test_forecast_threshold_alerts_before_actual(teams: dict, bob: Any) -> None:
    payments = teams["payments"]
    for day in range(1, 11):
        CostRecord.objects.create(
            team=payments, environment_slug="dev", date=date(2026, 11, day), amount=Decimal("5")
        )
    budget = budgets.save_budget(payments, monthly_amount="120")
    raised = budgets.evaluate_budget(budget, date(2026, 11, 10))
    # 50 spent (42%), 150 forecast (125%): only the forecast threshold is crossed.
    assert [(a.threshold, a.kind) for a in raised] == [(100, "forecast")]
    assert raised[0].amount == Decimal("150.00")
    # A new month is a new period: the same threshold may alert again there.
    for day in range(1, 3):
        CostRecord.objects.create(
            team=payments, environment_slug="dev", date=date(2026, 12, day), amount=Decimal("20")
        )
    again = budgets.evaluate_budget(budget, date(2026, 12, 2))
    assert {(a.kind, a.period) for a in again} >= {("forecast", "2026-12")}
    assert Alert.objects.filter(kind="forecast").count() == 2
