"""Ops paths: throttled AWS calls retried and recorded, the Celery task on a real worker,
the cost_report command."""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from monitoring.models import Alert, Budget, Collection, CostRecord
from monitoring.services import costs

from .conftest import ce_day


class _Throttler(BaseHTTPRequestHandler):
    """Answers the first N requests with Cost Explorer's throttling error, then forwards."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        server: Any = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        server.calls += 1
        if server.calls <= server.throttle:
            payload = b'{"__type": "LimitExceededException", "message": "Rate exceeded"}'
            self.send_response(400)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        request = urllib.request.Request(
            server.target + self.path, data=body, headers=headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            data = response.read()
            self.send_response(response.status)
            for key, value in response.headers.items():
                if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def throttling_proxy(aws: str) -> Iterator[Any]:
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Throttler)
    server.calls, server.throttle, server.target = 0, 2, aws
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    ).start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_throttled_cost_explorer_is_retried_and_recorded(
    throttling_proxy: Any, seed_costs: Any, teams: dict, env: Any, settings: Any
) -> None:
    day = date(2026, 11, 2)
    seed_costs([ce_day(day, {("payments", "checkout"): "3.25"})])
    settings.AWS_ENDPOINT_URL = throttling_proxy.url
    settings.IDP_AWS_RETRY_WAIT_MAX = 0.05
    collection = costs.collect_costs(start=day, end=day + timedelta(days=1))
    assert collection.status == "succeeded", collection.errors
    assert collection.retries == 2 and throttling_proxy.calls == 3
    assert CostRecord.objects.get(team=teams["payments"]).amount == Decimal("3.25")


def test_throttling_that_never_ends_is_recorded(
    throttling_proxy: Any, teams: dict, env: Any, settings: Any
) -> None:
    throttling_proxy.throttle = 100
    settings.AWS_ENDPOINT_URL = throttling_proxy.url
    settings.IDP_AWS_RETRY_WAIT_MAX = 0.05
    settings.IDP_AWS_RETRY_ATTEMPTS = 3
    collection = costs.collect_costs(start=date(2026, 11, 1), end=date(2026, 11, 2))
    assert collection.status == "failed" and collection.retries == 2
    assert "LimitExceededException" in collection.errors[0]["error"]


def test_collect_costs_task_on_a_real_worker_raises_alert_once(
    celery_worker: Any, aws: str, seed_costs: Any, teams: dict, env: Any, bob: Any
) -> None:
    from monitoring import tasks

    today = timezone.now().date()
    start = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    # The task's default window: last month's first day until tomorrow.
    seed_costs([ce_day(today, {("payments", "checkout"): "90.00"})])
    Budget.objects.create(
        team=teams["payments"],
        monthly_amount=Decimal("100"),
        thresholds=[{"percent": 80, "kind": "actual"}],
    )
    assert start <= today
    for run in range(1, 3):
        tasks.collect_costs.delay()
        finished = Collection.objects.filter(kind="costs", finished_at__isnull=False)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and finished.count() < run:
            time.sleep(0.1)
    runs = list(Collection.objects.filter(kind="costs").values_list("status", "errors"))
    assert runs == [("succeeded", []), ("succeeded", [])], runs
    alert = Alert.objects.get()
    assert (alert.threshold, alert.kind, alert.period) == (80, "actual", today.strftime("%Y-%m"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not Alert.objects.get().emailed_to:
        time.sleep(0.1)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["bob@example.com"]


def test_cost_report_table_and_csv(teams: dict) -> None:
    payments = teams["payments"]
    for day, service, env_slug, amount in (
        (1, "checkout", "dev", "1.10"),
        (2, "checkout", "dev", "2.20"),
        (2, "ledger", "prod", "5.00"),
        (1, "checkout", "dev", "0"),
    ):
        CostRecord.objects.update_or_create(
            team=payments,
            service_slug=service,
            environment_slug=env_slug,
            date=date(2026, 10, day),
            defaults={"amount": Decimal(amount)},
        )
    CostRecord.objects.create(
        team=payments,
        service_slug="x",
        environment_slug="dev",
        date=date(2026, 11, 1),
        amount=Decimal("100"),
    )
    Budget.objects.create(team=payments, monthly_amount=Decimal("50"))
    out = StringIO()
    call_command(
        "cost_report", "--team", "payments", "--month", "2026-10", "--format", "csv", stdout=out
    )
    assert out.getvalue().splitlines() == [
        "team,month,service,environment,amount_usd",
        "payments,2026-10,checkout,dev,2.20",
        "payments,2026-10,ledger,prod,5.00",
        "payments,2026-10,TOTAL,,7.20",
    ]
    out = StringIO()
    call_command("cost_report", "--team", "payments", "--month", "2026-10", stdout=out)
    assert "ledger" in out.getvalue() and "7.20" in out.getvalue() and "50.00" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("cost_report", "--team", "nope", "--month", "2026-10")
    with pytest.raises(CommandError):
        call_command("cost_report", "--team", "payments", "--month", "october")
