"""The issue's done-when, end to end: with seeded Cost Explorer data alice sees her team's cost
chart and budget burn, crossing 80% raises one alert and one email, and a request estimated over
budget waits for a platform admin."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core import mail
from django.urls import reverse
from django.utils import timezone

from monitoring.models import Alert
from monitoring.services import budgets, costs

from .conftest import COST_HINTS, ce_day


def test_done_when(
    aws: str,
    seed_costs: Any,
    teams: dict,
    env: Any,
    alice: Any,
    bob: Any,
    client_as: Any,
    make_version: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    payments = teams["payments"]
    today = timezone.now().date()
    days = [today.replace(day=d) for d in range(1, today.day + 1)]
    per_day = (Decimal("85") / len(days)).quantize(Decimal("0.01"))
    seed_costs([ce_day(d, {("payments", "checkout"): str(per_day)}) for d in days])
    budgets.save_budget(
        payments,
        monthly_amount="100",
        actor=bob,
        thresholds=[{"percent": 80, "kind": "actual"}, {"percent": 100, "kind": "actual"}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        costs.collect_costs(start=today.replace(day=1), end=today + timedelta(days=1))
        budgets.evaluate_budgets()
        budgets.evaluate_budgets()

    # Alice sees the cost chart and the budget burn.
    page = client_as(alice).get(reverse("monitoring:team_dashboard", args=["payments"]))
    assert page.status_code == 200
    ids = [c["id"] for c in page.context["charts"] if c["rows"]]
    assert "daily" in ids and "burn" in ids
    html = page.content.decode()
    assert 'data-chart="chart-data-burn"' in html and "80% actual" in html

    # One alert, one email, to the maintainer.
    assert Alert.objects.filter(team=payments).count() == 1
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["bob@example.com"]

    # A request estimated over budget waits for a platform admin: the approval policy asks
    # monitoring's budget gate for every plan, from that plan's inputs.
    from provisioning.actions import request_resource
    from provisioning.approval_policy import ApprovalPolicy

    version = make_version(
        "rds-postgres",
        cost_hints=COST_HINTS,
        schema={"type": "object", "properties": {"allocated_storage": {"type": "integer"}}},
    )
    resource = request_resource(
        actor=alice,
        template=version.template,
        version=version,
        team=payments,
        environment=env,
        name="big-db",
        parameters={"allocated_storage": 500},
    ).resource
    requirement = ApprovalPolicy.of(resource).requirement(
        resource, version, {"allocated_storage": 500}
    )
    assert requirement.platform_admin is True and requirement.needed
    assert requirement.estimated_monthly_cost == "59.00"
