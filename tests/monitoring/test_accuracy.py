"""Estimates checked against actuals: Cost Explorer actuals (seeded in moto over HTTP) of a
complete month per resource, the error per template against a hand computation, the
correction, the page and the API."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from monitoring.models import CostAccuracy
from monitoring.services import accuracy
from tests.utils import assert_error, assert_ok


def ce_month(first: date, groups: dict[tuple[str, str], str]) -> list[dict[str, Any]]:
    """One month of Cost Explorer results grouped by idp:team and idp:resource."""
    next_first = (first + timedelta(days=32)).replace(day=1)
    return [
        {
            "TimePeriod": {"Start": first.isoformat(), "End": next_first.isoformat()},
            "Total": {},
            "Groups": [
                {
                    "Keys": [f"idp:team${team}", f"idp:resource${name}"],
                    "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}},
                }
                for (team, name), amount in groups.items()
            ],
            "Estimated": False,
        }
    ]


@pytest.fixture
def last_month() -> date:
    return accuracy.previous_month(timezone.now().date())


@pytest.fixture
def checked(
    aws: str, seed_costs: Any, teams: dict, make_resource: Any, last_month: date
) -> dict[str, Any]:
    """Three resources that stood all last month, one made this month, and last month's
    actuals: collected into CostAccuracy."""
    before = timezone.make_aware(datetime.combine(last_month - timedelta(days=3), time.min))
    made = {
        "orders-db": make_resource(teams["payments"], "rds-postgres", "orders-db", cost="100"),
        "cache-db": make_resource(teams["payments"], "rds-postgres", "cache-db", cost="50"),
        "logs": make_resource(teams["search"], "s3-bucket", "logs", cost="10"),
        "fresh": make_resource(teams["payments"], "rds-postgres", "fresh", cost="70"),
    }
    for name in ("orders-db", "cache-db", "logs"):
        type(made[name]).objects.filter(pk=made[name].pk).update(provisioned_at=before)
    seed_costs(
        ce_month(
            last_month,
            {
                ("payments", "orders-db"): "120.00",
                ("payments", "cache-db"): "35.00",
                ("search", "logs"): "10.00",
                ("payments", "fresh"): "12.00",  # provisioned this month: not complete
                ("payments", "ghost"): "99.00",  # no such resource
            },
        )
    )
    out = io.StringIO()
    call_command("collect_accuracy", stdout=out)
    assert "succeeded, 3 resources checked" in out.getvalue()
    return made


def test_error_per_template_matches_a_hand_computation(
    checked: dict[str, Any], last_month: date, settings: Any
) -> None:
    rows = {r.resource.name: r for r in CostAccuracy.objects.select_related("resource")}
    assert set(rows) == {"orders-db", "cache-db", "logs"}
    assert (rows["orders-db"].estimated, rows["orders-db"].actual) == (
        Decimal("100.00"),
        Decimal("120.00"),
    )
    assert rows["cache-db"].month == last_month
    report = accuracy.accuracy_report(CostAccuracy.objects.all(), corrected=False)
    by_template = {t["template"]: t for t in report["templates"]}
    # |100 − 120| / 120 = 16.667 %, |50 − 35| / 35 = 42.857 %: their mean.
    assert by_template["rds-postgres"]["mape"] == pytest.approx(
        (20 / 120 + 15 / 35) / 2 * 100, abs=0.01
    )
    assert by_template["rds-postgres"]["resource_months"] == 2
    assert by_template["s3-bucket"]["mape"] == 0
    # Only cache-db is more than 25 % off (its estimate was 42.86 % too high).
    assert [(o["resource"]["name"], o["error_percent"]) for o in report["off"]] == [
        ("cache-db", pytest.approx(42.86, abs=0.01))
    ]
    assert report["months"] == [last_month.strftime("%Y-%m")]
    # The correction: actual / estimate over the template's months, both figures shown.
    corrected = accuracy.accuracy_report(CostAccuracy.objects.all(), corrected=True)
    rds = next(t for t in corrected["templates"] if t["template"] == "rds-postgres")
    factor = Decimal("155") / Decimal("150")
    assert Decimal(rds["correction"]) == factor.quantize(Decimal("0.0001"))
    f = float(factor.quantize(Decimal("0.0001")))
    assert rds["corrected_mape"] == pytest.approx(
        (abs(100 * f - 120) / 120 + abs(50 * f - 35) / 35) / 2 * 100, abs=0.01
    )
    assert rds["mape"] == by_template["rds-postgres"]["mape"]
    # A plan's cost carries the corrected figure beside the list price when it is on.
    cost: dict[str, Any] = {"monthly_after": "200.00"}
    accuracy.apply_correction(cost, "rds-postgres")
    assert cost["corrected_monthly_after"] == str(
        (Decimal("200") * factor.quantize(Decimal("0.0001"))).quantize(Decimal("0.01"))
    )
    assert cost["monthly_after"] == "200.00"


def test_a_month_not_over_is_not_checked(aws: str, teams: dict) -> None:
    collection = accuracy.collect_accuracy(timezone.now().date().replace(day=1))
    assert collection.status == "failed"
    assert "is not over yet" in collection.errors[0]["error"]


def test_the_api_answers_for_your_teams_only(
    checked: dict[str, Any], api_as: Any, alice: Any, platform_admin: Any
) -> None:
    body = assert_ok(api_as(alice).get("/api/v1/costs/accuracy/"))
    assert [t["template"] for t in body["templates"]] == ["rds-postgres"]  # not search's
    assert body["threshold_percent"] == 25.0
    assert body["off"][0]["resource"]["name"] == "cache-db"
    assert body["series"][0]["template"] == "rds-postgres"
    everyone = assert_ok(api_as(platform_admin).get("/api/v1/costs/accuracy/"))
    assert {t["template"] for t in everyone["templates"]} == {"rds-postgres", "s3-bucket"}
    only = assert_ok(
        api_as(platform_admin).get("/api/v1/costs/accuracy/", {"template": "s3-bucket"})
    )
    assert [t["template"] for t in only["templates"]] == ["s3-bucket"]
    assert_error(api_as(alice).get("/api/v1/costs/accuracy/", {"team": "search"}), 400, "team")
    assert_error(api_as(alice).get("/api/v1/costs/accuracy/", {"months": "0"}), 400, "months")
    assert_error(api_as(alice).get("/api/v1/costs/accuracy/", {"months": "x"}), 400, "months")


def test_the_page_shows_each_templates_error_and_the_chart(
    checked: dict[str, Any], client_as: Any, alice: Any, settings: Any
) -> None:
    settings.IDP_COST_CORRECTION = True
    page = client_as(alice).get("/monitoring/accuracy/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "rds-postgres" in html and "29.76 %" in html
    assert "Corrected error" in html
    assert 'data-chart="chart-data-accuracy"' in html
    assert "cache-db" in html and "logs" not in html.split("accuracy-off")[1]
    assert client_as(alice).get("/monitoring/accuracy/?team=search").status_code == 404


def test_the_chart_follows_each_templates_error_over_the_months(
    checked: dict[str, Any], last_month: date
) -> None:
    earlier = accuracy.previous_month(last_month)
    db = checked["orders-db"]
    CostAccuracy.objects.create(
        resource=db,
        team=db.team,
        template_slug="rds-postgres",
        environment_slug="dev",
        month=earlier,
        estimated=Decimal("100"),
        actual=Decimal("80"),
    )
    report = accuracy.accuracy_report(CostAccuracy.objects.all(), corrected=False)
    assert report["months"] == [earlier.strftime("%Y-%m"), last_month.strftime("%Y-%m")]
    rds = next(s for s in report["series"] if s["template"] == "rds-postgres")
    assert [p["mape"] for p in rds["points"]] == [
        25.0,  # |100 − 80| / 80
        pytest.approx((20 / 120 + 15 / 35) / 2 * 100, abs=0.01),
    ]
    s3 = next(s for s in report["series"] if s["template"] == "s3-bucket")
    assert [p["mape"] for p in s3["points"]] == [None, 0.0]  # no figure that month: a gap
