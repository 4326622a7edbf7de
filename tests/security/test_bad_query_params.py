"""Query parameters that once crashed monitoring (500) or reached a response header.

`end=9999-12-31` overflowed the date arithmetic of the cost summary, a month at the end of
the calendar did too, extreme date-times overflowed the metrics filter, and the metric name
of a CSV download went raw into Content-Disposition. Each now answers 400 naming the field.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from idp.models import Team
from monitoring.models import MetricSample
from tests.monitoring import conftest as monitoring_fixtures
from tests.utils import assert_error

# The monitoring suite's fixtures: resources made directly, without Terraform.
env = monitoring_fixtures.env
make_version = monitoring_fixtures.make_version
make_resource = monitoring_fixtures.make_resource


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"end": "9999-12-31"}, "end"),
        ({"start": "9999-12-30", "end": "9999-12-31"}, "end"),
        ({"start": "9999-12-31"}, "start"),
        ({"start": "0001-01-01", "end": "2026-01-31"}, "start"),
        ({"end": "0001-01-01"}, "end"),
        ({"month": "9999-12"}, "month"),
        ({"month": "0001-01"}, "month"),
        ({"month": "0-1"}, "month"),
        ({"team": "payments", "end": "9999-12-31"}, "end"),
    ],
)
def test_costs_dates_out_of_range_are_400(
    api_as: Any, alice: Any, params: dict[str, str], field: str
) -> None:
    body = assert_error(api_as(alice).get("/api/v1/costs/", params), 400, field)
    assert body["detail"][field][0]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "9999-12-31T23:59:59-12:00"}, "since"),
        ({"since": "0001-01-01T00:00:00+14:00"}, "since"),
        ({"since": "9999-12-31T23:59:59"}, "since"),
        ({"resource": "²"}, "resource"),
        ({"resource": "9" * 30}, "resource"),
        ({"resource": "-1"}, "resource"),
    ],
)
def test_metrics_parameters_out_of_range_are_400(
    api_as: Any, alice: Any, params: dict[str, str], field: str
) -> None:
    assert_error(api_as(alice).get("/api/v1/metrics/", params), 400, field)


@pytest.mark.parametrize("period", ["2026-13", "x" * 300, "2026-11\r\n"])
def test_alert_period_must_be_a_month(api_as: Any, alice: Any, period: str) -> None:
    assert_error(api_as(alice).get("/api/v1/alerts/", {"period": period}), 400, "period")


def test_alert_period_filter_still_works(api_as: Any, alice: Any) -> None:
    assert api_as(alice).get("/api/v1/alerts/", {"period": "2026-11"}).status_code == 200


@pytest.mark.parametrize(
    "metric",
    [
        'CPUUtilization"; filename="evil.sh',
        "CPUUtilization\r\nSet-Cookie: session=stolen",
        "CPUUtilization\nX-Evil: 1",
        "NoSuchMetric",
        "",
    ],
)
def test_metric_csv_refuses_unknown_metric_names(
    client_as: Any, alice: Any, teams: dict[str, Team], make_resource: Any, metric: str
) -> None:
    queue = make_resource(teams["payments"], "sqs-queue", "q")
    response = client_as(alice).get(
        reverse("monitoring:resource_csv", args=[queue.pk]), {"metric": metric}
    )
    assert response.status_code == 400
    assert "Set-Cookie" not in response.headers and "X-Evil" not in response.headers
    assert "evil" not in response.headers.get("Content-Disposition", "")
    assert b"metric" in response.content


def test_metric_csv_of_a_known_metric_names_the_file_safely(
    client_as: Any, alice: Any, teams: dict[str, Team], make_resource: Any
) -> None:
    queue = make_resource(teams["payments"], "sqs-queue", "q")
    MetricSample.objects.create(
        resource=queue,
        resource_type="sqs",
        metric="ApproximateNumberOfMessagesVisible",
        timestamp=timezone.now(),
        value=4,
    )
    response = client_as(alice).get(
        reverse("monitoring:resource_csv", args=[queue.pk]),
        {"metric": "ApproximateNumberOfMessagesVisible"},
    )
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="resource-{queue.pk}-ApproximateNumberOfMessagesVisible.csv"'
    )
    assert response.content.decode().splitlines()[1].startswith(tuple("0123456789"))  # a data row


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/pipelines/99999999999999999999999/",
        "/api/v1/pipelines/99999999999999999999999/runs/",
        "/api/v1/services/?tier=99999999999999999999999",
    ],
)
def test_huge_ids_are_not_found_or_400_never_500(api_as: Any, alice: Any, path: str) -> None:
    response = api_as(alice).get(path)
    assert response.status_code in (200, 400, 404), response.content


@pytest.mark.parametrize(
    "path",
    [
        "/monitoring/resources/99999999999999999999999/",
        "/monitoring/resources/99999999999999999999999/metrics.csv",
        "/pipelines/99999999999999999999999/",
        "/pipelines/?page=99999999999999999999999",
    ],
)
def test_portal_huge_ids_are_not_found_never_500(client_as: Any, alice: Any, path: str) -> None:
    response = client_as(alice).get(path)
    assert response.status_code in (200, 400, 404)


@pytest.mark.parametrize("month", ["9999-12", "0-1", "2026-13"])
def test_cost_report_refuses_months_out_of_range(teams: dict[str, Team], month: str) -> None:
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="month"):
        call_command("cost_report", "--team", "payments", "--month", month)
