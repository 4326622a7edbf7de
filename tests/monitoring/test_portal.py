"""Portal pages: alice sees her team's cost chart and budget burn; budgets edited by admins;
CSV next to every chart; aggregates cached and refreshed when new data arrives."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.urls import reverse
from django.utils import timezone

from idp.choices import Role
from monitoring.models import Budget, CostRecord, MetricSample
from monitoring.services import budgets
from monitoring.services.cache import bump


def seed(team: Any, amount: str = "7.00", days: int = 3) -> None:
    today = timezone.now().date()
    for offset in range(days):
        day = today - timedelta(days=offset)
        if day.month == today.month:
            CostRecord.objects.update_or_create(
                team=team,
                service_slug="checkout",
                environment_slug="dev",
                date=day,
                defaults={"amount": Decimal(amount)},
            )


def test_alice_sees_cost_chart_and_budget_burn(client_as: Any, alice: Any, teams: dict) -> None:
    payments = teams["payments"]
    seed(payments)
    budgets.save_budget(payments, monthly_amount="100")
    page = client_as(alice).get(reverse("monitoring:team_dashboard", args=["payments"]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "vendor/chartjs/chart.umd.min.js" in html
    assert 'id="daily"' in html and 'id="burn"' in html
    assert 'data-chart="chart-data-daily"' in html
    assert "Download CSV" in html and "$100.00" in html
    daily = next(c for c in page.context["charts"] if c["id"] == "daily")
    assert daily["data"]["datasets"][0]["data"][-1] == 7.0
    burn = next(c for c in page.context["charts"] if c["id"] == "burn")
    spent = [row[1] for row in burn["rows"] if row[1] != ""]
    assert spent[-1] == str(Decimal("7.00") * min(3, timezone.now().day))


def test_other_team_and_bad_period(client_as: Any, carol: Any, alice: Any, teams: dict) -> None:
    assert (
        client_as(carol).get(reverse("monitoring:team_dashboard", args=["payments"])).status_code
        == 404
    )
    assert (
        client_as(alice)
        .get(reverse("monitoring:team_dashboard", args=["payments"]) + "?period=5")
        .status_code
        == 400
    )
    assert client_as(alice).get(reverse("monitoring:dashboard") + "?period=abc").status_code == 400
    assert (
        client_as(alice).get(reverse("monitoring:csv", args=["search", "daily"])).status_code == 404
    )
    assert client_as(alice).get(reverse("monitoring:csv", args=["all", "daily"])).status_code == 404


def test_csv_download_matches_table(client_as: Any, alice: Any, teams: dict) -> None:
    seed(teams["payments"], "2.50", days=1)
    response = client_as(alice).get(
        reverse("monitoring:csv", args=["payments", "service"]) + "?period=7"
    )
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    lines = response.content.decode().strip().splitlines()
    assert lines == ["service,amount", "checkout,2.50"]


def test_platform_dashboard_for_admins(client_as: Any, platform_admin: Any, teams: dict) -> None:
    seed(teams["payments"])
    seed(teams["search"], "1.00")
    page = client_as(platform_admin).get(reverse("monitoring:dashboard") + "?period=30")
    assert page.status_code == 200
    by_team = next(c for c in page.context["charts"] if c["id"] == "team")
    assert [row[0] for row in by_team["rows"]] == ["payments", "search"]
    assert "Lead time request" in page.content.decode()
    assert "No collection has run yet." in page.content.decode()


def test_budget_form_for_team_admins(
    client_as: Any, alice: Any, make_user: Any, teams: dict, client: Any
) -> None:
    url = reverse("monitoring:budget_edit", args=["payments"])
    assert client_as(alice).get(url).status_code == 403
    admin = make_user("erin", team=teams["payments"], role=Role.ADMIN)
    c = client_as(admin)
    response = c.post(url, {"monthly_amount": "-10", "thresholds": "80 actual"})
    assert response.status_code == 400
    assert "cannot be negative" in response.content.decode()
    assert not Budget.objects.exists()
    response = c.post(url, {"monthly_amount": "120", "thresholds": "50 actual, 90 forecast"})
    assert response.status_code == 302
    budget = Budget.objects.get()
    assert budget.monthly_amount == Decimal("120.00")
    assert budget.thresholds == [
        {"percent": 50, "kind": "actual"},
        {"percent": 90, "kind": "forecast"},
    ]
    assert "50 actual, 90 forecast" in c.get(url).content.decode()


def test_aggregates_cached_until_new_data(
    client_as: Any, alice: Any, teams: dict, django_assert_max_num_queries: Any
) -> None:
    from monitoring import dashboards

    seed(teams["payments"], "3.00", days=1)
    first = dashboards.cost_tables(teams["payments"], 7)
    CostRecord.objects.filter(team=teams["payments"]).update(amount=Decimal("5.00"))
    with django_assert_max_num_queries(0):
        assert dashboards.cost_tables(teams["payments"], 7) == first
    bump("payments")  # what every ingest does
    assert dashboards.cost_tables(teams["payments"], 7)["service"][0]["amount"] == "5.00"


def test_resource_panel_shows_hints(
    client_as: Any, alice: Any, teams: dict, make_resource: Any
) -> None:
    bucket = make_resource(
        teams["payments"], "s3-bucket", "old", cost="12.00", outputs={"bucket_name": "old"}
    )
    now = timezone.now()
    for day in range(15):
        MetricSample.objects.create(
            resource=bucket,
            resource_type="s3",
            metric="NumberOfObjects",
            timestamp=now - timedelta(days=day),
            value=0,
        )
    page = client_as(alice).get(reverse("monitoring:resource_panel", args=[bucket.pk]))
    html = page.content.decode()
    assert "empty for 14 days" in html and "$12.00" in html
    assert (
        "NumberOfObjects" in html and reverse("monitoring:resource_csv", args=[bucket.pk]) in html
    )
    assert "<!doctype html>" in html  # a page of its own when opened directly
    fragment = (
        client_as(alice)
        .get(reverse("monitoring:resource_panel", args=[bucket.pk]), HTTP_HX_REQUEST="true")
        .content.decode()
    )
    assert "<!doctype html>" not in fragment and "chart.umd.min.js" in fragment
    csv = client_as(alice).get(
        reverse("monitoring:resource_csv", args=[bucket.pk]) + "?metric=NumberOfObjects"
    )
    assert csv.content.decode().count("NumberOfObjects") == 15


def test_partials_for_other_pages(teams: dict, make_resource: Any, alice: Any) -> None:
    from django.template import Context, Template

    from monitoring.models import AlarmState

    queue = make_resource(teams["payments"], "sqs-queue", "jobs", cost="3.00")
    AlarmState.objects.create(
        resource=queue,
        alarm_name="idp-payments-dev-jobs-depth",
        metric="ApproximateNumberOfMessagesVisible",
        namespace="AWS/SQS",
        threshold=100,
        comparison="GreaterThanThreshold",
        state="ALARM",
    )
    html = Template(
        "{% load monitoring %}{% resource_alarms resource %}{% resource_hints resource %}"
        "{% team_hints team %}"
    ).render(Context({"resource": queue, "team": teams["payments"]}))
    assert "idp-payments-dev-jobs-depth" in html and 'badge bad">ALARM' in html
    assert "Nothing to right-size" in html


def test_budget_in_django_admin(client_as: Any, platform_admin: Any, teams: dict) -> None:
    platform_admin.is_staff = True
    platform_admin.is_superuser = True
    platform_admin.save()
    c = client_as(platform_admin)
    url = reverse("admin:monitoring_budget_add")
    bad = c.post(
        url,
        {
            "team": teams["search"].pk,
            "monthly_amount": "-1",
            "currency": "USD",
            "thresholds": '[{"percent": 80, "kind": "actual"}]',
        },
    )
    assert bad.status_code == 200 and "cannot be negative" in bad.content.decode()
    ok = c.post(
        url,
        {
            "team": teams["search"].pk,
            "monthly_amount": "75",
            "currency": "USD",
            "thresholds": '[{"percent": 90, "kind": "actual"}]',
        },
    )
    assert ok.status_code == 302
    budget = Budget.objects.get(team=teams["search"])
    assert budget.monthly_amount == Decimal("75.00")
    assert budget.thresholds == [{"percent": 90, "kind": "actual"}]
    change = reverse("admin:monitoring_budget_change", args=[budget.pk])
    assert f'href="{change}"' in c.get(ok.url).content.decode()  # the message links to it
    # On its change page the team is fixed: posting another team changes only the amount.
    again = c.post(
        change,
        {
            "team": teams["payments"].pk,
            "monthly_amount": "80",
            "thresholds": '[{"percent": 90, "kind": "actual"}]',
        },
    )
    assert again.status_code == 302
    assert list(Budget.objects.values_list("team__slug", "monthly_amount")) == [
        ("search", Decimal("80.00"))
    ]
    assert c.get(reverse("admin:monitoring_collection_changelist")).status_code == 200
