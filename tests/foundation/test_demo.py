"""`make run`'s demo, seeded for real: base data, then its activity against the moto server,
a real Celery worker running Terraform and the live portal receiving signed webhooks. The
assertions are what a newcomer sees: charts with data, a budget near its limit, a pipeline
with runs, one plan in bob's inbox, one drifted resource; and a second run adds nothing."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from catalog.services import sync_templates
from config.demo import aws_data
from config.demo.activity import AWAITING, DRIFTING, QUEUE, Activity, find
from idp.choices import Role
from idp.models import AuditEvent, Environment, Membership
from monitoring.models import Alert, Budget, CostRecord, MetricSample
from monitoring.services import costs
from pipelines.models import Pipeline, PipelineRun, WebhookDelivery
from provisioning.actions import inbox
from provisioning.approval_policy import ApprovalPolicy
from provisioning.choices import ResourceStatus
from provisioning.engine.backend import ensure_state_bucket
from provisioning.models import Resource, Run
from tests.utils import assert_ok

pytestmark = [pytest.mark.integration]

User = get_user_model()


@pytest.fixture
def demo(
    celery_worker: Any, aws: str, live_server: Any, settings: Any, tmp_path: Path
) -> dict[str, Any]:
    """The demo as `make run` seeds it: base data, the catalog, then the activity."""
    settings.IDP_WORK_DIR = tmp_path / "runs"
    settings.IDP_PLUGIN_CACHE_DIR = tmp_path.parent / "plugin-cache"
    settings.GITHUB_WEBHOOK_SECRET = "demo-test-webhook-secret"
    ensure_state_bucket()
    creds = str(tmp_path / "creds.json")
    call_command("seed_demo", "--force", "--credentials-file", creds, stdout=io.StringIO())
    report = sync_templates(only=["example-config"])
    assert not report.failed, report.failed
    lines: list[str] = []
    problems = Activity(portal_url=live_server.url, say=lines.append, timeout=420).run()
    print("\n".join(lines))  # the demo's progress, shown when a test fails
    assert problems == [], "\n".join(lines)
    return {"lines": lines, "portal_url": live_server.url, "creds": creds}


def counts() -> dict[str, int]:
    return {
        "resources": Resource.objects.count(),
        "runs": Run.objects.count(),
        "costs": CostRecord.objects.count(),
        "budgets": Budget.objects.count(),
        "alerts": Alert.objects.count(),
        "metric samples": MetricSample.objects.count(),
        "pipelines": Pipeline.objects.count(),
        "pipeline runs": PipelineRun.objects.count(),
        "webhook deliveries": WebhookDelivery.objects.count(),
        "audit events": AuditEvent.objects.count(),
    }


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_demo_shows_every_page_working(demo: dict[str, Any], client: Any, api_as: Any) -> None:
    bob, alice, carol = (User.objects.get(username=u) for u in ("bob", "alice", "carol"))

    # People and places: payments has an admin; members may destroy in sandbox and dev.
    roles = dict(
        Membership.objects.filter(team__slug="payments").values_list("user__username", "role")
    )
    assert Role.ADMIN in roles.values() and roles["bob"] == Role.MAINTAINER
    destroy = dict(Environment.objects.values_list("slug", "members_may_destroy"))
    assert destroy["sandbox"] and destroy["dev"] and not destroy["prod"]

    # The team dashboard's charts have data: costs per day and the budget burn-down.
    client.force_login(bob, backend="django.contrib.auth.backends.ModelBackend")
    page = client.get(reverse("monitoring:team_dashboard", args=["payments"]))
    assert page.status_code == 200
    charts = {c["id"]: c for c in page.context["charts"]}
    daily = charts["daily"]["data"]["datasets"][0]["data"]
    assert sum(v or 0 for v in daily) > 0, charts["daily"]
    assert any(v for v in charts["burn"]["data"]["datasets"][0]["data"])
    assert 'data-chart="chart-data-daily"' in page.content.decode()

    # …and the API gives the same series: costs, and the queue's metrics.
    api = api_as(bob)
    cost = assert_ok(api.get("/api/v1/costs/", {"team": "payments"}))
    assert Decimal(cost["total"]) > 0 and any(Decimal(r["amount"]) for r in cost["results"])
    samples = assert_ok(api.get("/api/v1/metrics/", {"team": "payments"}))
    assert samples["count"] > 0
    assert {r["metric"] for r in samples["results"]} <= {
        "ApproximateNumberOfMessagesVisible",
        "ApproximateAgeOfOldestMessage",
    }

    # The queue's resource panel draws its CloudWatch metrics.
    queue = find(QUEUE)
    assert queue is not None and queue.status == ResourceStatus.PROVISIONED
    panel = client.get(reverse("monitoring:resource_panel", args=[queue.pk]))
    assert panel.status_code == 200
    metric_charts = [c for c in panel.context["charts"] if c["rows"]]
    assert {c["id"] for c in metric_charts} == {
        "metric-ApproximateNumberOfMessagesVisible",
        "metric-ApproximateAgeOfOldestMessage",
    }
    assert all(len(c["rows"]) > 100 for c in metric_charts)

    # A budget near its limit, with the alert the platform's budget check raised; payments'
    # own budget keeps headroom, so its prod plan needs no platform admin.
    search = Budget.objects.get(team__slug="search")
    used = costs.month_to_date(search.team) * 100 / search.monthly_amount
    assert Decimal("80") <= used <= Decimal("95"), used
    assert Alert.objects.filter(team__slug="search", threshold=80, kind="actual").exists()
    payments = Budget.objects.get(team__slug="payments")
    assert costs.forecast_month(payments.team) < payments.monthly_amount

    # A pipeline with run history, recorded from signed webhooks.
    pipeline = Pipeline.objects.get(service__slug="payments-api", slug="ci")
    states = {r.state for r in pipeline.runs.all()}
    assert pipeline.runs.count() >= 7 and {"success", "failure"} <= states
    assert WebhookDelivery.objects.filter(delivery_id__startswith="idp-demo-").count() == 14
    assert client.get(pipeline.get_absolute_url()).status_code == 200

    # bob's inbox: one plan, requested by alice in prod, planned by the worker; he may decide,
    # alice (the requester) and carol (another team) may not.
    awaiting = find(AWAITING)
    assert awaiting is not None and awaiting.status == ResourceStatus.AWAITING_APPROVAL
    assert awaiting.requested_by == alice and awaiting.environment.slug == "prod"
    items = inbox.inbox_items(bob)
    assert [i.resource.pk for i in items] == [awaiting.pk]
    policy = ApprovalPolicy.of(awaiting)
    plan = items[0].plan
    assert policy.refusal(awaiting, plan, bob) is None
    assert policy.refusal(awaiting, plan, alice) is not None
    assert inbox.inbox_items(alice) == [] and inbox.inbox_items(carol) == []

    # One drifted resource, caught by the drift check after its state was edited in S3.
    drifted = find(DRIFTING)
    assert drifted is not None and drifted.drifted is True
    assert "message" in drifted.drift_details["outputs"]
    assert list(Resource.objects.filter(drifted=True)) == [drifted]

    # carol sees none of it.
    client.force_login(carol, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get(reverse("monitoring:team_dashboard", args=["payments"])).status_code == 404
    assert client.get(reverse("monitoring:resource_panel", args=[queue.pk])).status_code == 404
    assert assert_ok(api_as(carol).get("/api/v1/metrics/"))["count"] == 0

    # A second run (a second `make run`) adds nothing.
    before = counts()
    lines: list[str] = []
    problems = Activity(portal_url=demo["portal_url"], say=lines.append, timeout=60).run()
    assert problems == [], lines
    assert counts() == before
    out = io.StringIO()
    call_command("seed_demo", "--force", "--credentials-file", demo["creds"], stdout=out)
    assert counts() == before


def test_demo_costs_land_in_their_environments_in_any_environment_order(
    db: None, aws: str, tmp_path: Path
) -> None:
    """moto hands out one queued Cost Explorer answer per new request; the collector asks once
    per environment in the platform's order, so the demo queues its answers in that order,
    whatever environments an installation added."""
    creds = str(tmp_path / "creds.json")
    call_command("seed_demo", "--force", "--credentials-file", creds, stdout=io.StringIO())
    Environment.objects.create(slug="qa", name="QA", order=15)  # between dev and staging
    Environment.objects.create(slug="aaa", name="First", order=0)  # before sandbox
    collection = aws_data.seed_costs()
    assert collection.errors == [] and collection.stored > 0
    stored = set(CostRecord.objects.values_list("team__slug", "environment_slug", "service_slug"))
    expected = {(c.team, c.environment, c.service) for c in aws_data.COST_LINES}
    assert stored == expected
    start, end = aws_data.cost_window()
    days = (end - start).days
    assert CostRecord.objects.count() == len(expected) * days
