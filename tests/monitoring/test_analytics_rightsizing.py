"""Usage analytics over provisioning and pipeline records; right-sizing hints from metrics."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from catalog.models import Service
from monitoring.models import MetricSample
from monitoring.services import analytics
from monitoring.services.rightsizing import hints_for, hints_for_many


def test_lead_time_approval_wait_failure_rate_and_drift(
    teams: dict, make_resource: Any, alice: Any, carol: Any
) -> None:
    from provisioning.models import Approval, Resource, Run

    now = timezone.now()
    payments = teams["payments"]
    fast = make_resource(payments, "sqs-queue", "fast")
    slow = make_resource(payments, "sqs-queue", "slow", drifted=True)
    make_resource(teams["search"], "s3-bucket", "theirs")
    Resource.objects.filter(pk=fast.pk).update(created_at=now - timedelta(minutes=10))
    Resource.objects.filter(pk=slow.pk).update(created_at=now - timedelta(minutes=100))
    for resource, status in ((fast, "succeeded"), (slow, "failed"), (slow, "succeeded")):
        run = Run.objects.create(
            resource=resource,
            kind="plan",
            status=status,
            template_version=resource.template_version,
            finished_at=now - timedelta(minutes=30),
        )
    Approval.objects.create(resource=slow, run=run, decision="approved", plan_hash="x")

    data = analytics.usage(alice, days=7)
    assert data["requests_total"] == 2
    assert data["requests_by_team"] == [{"team": "payments", "count": 2}]
    assert data["lead_time_minutes"]["count"] == 2
    assert 9 <= data["lead_time_minutes"]["p50"] <= 11
    assert 99 <= data["lead_time_minutes"]["p95"] <= 101
    assert data["lead_time_by_template"][0]["template"] == "sqs-queue"
    assert 29 <= data["approval_wait_minutes"]["p50"] <= 31
    assert data["run_failure_rate"] == round(1 / 3, 3)
    assert data["drift_count"] == 1
    assert analytics.usage(carol, days=7)["requests_by_team"] == [{"team": "search", "count": 1}]


def test_pipeline_success_rate_and_deployment_frequency(teams: dict, alice: Any) -> None:
    from pipelines.models import Pipeline, PipelineRun

    service = Service.objects.create(team=teams["payments"], name="Checkout", slug="checkout")
    pipeline = Pipeline.objects.create(
        service=service,
        slug="ci",
        template="python",
        workflow_name="ci",
        workflow_path=".github/workflows/ci.yml",
        repository="acme/checkout",
    )
    for i, (env, conclusion) in enumerate(
        [("dev", "success"), ("prod", "success"), ("prod", "failure"), ("", "success")]
    ):
        PipelineRun.objects.create(
            pipeline=pipeline,
            environment=env,
            github_run_id=i + 1,
            status="completed",
            conclusion=conclusion,
        )
    PipelineRun.objects.create(
        pipeline=pipeline, environment="dev", github_run_id=9, status="in_progress"
    )
    rows = analytics.usage(alice, days=7)["pipelines"]
    assert rows == [
        {
            "service": "checkout",
            "runs": 5,
            "completed": 4,
            "succeeded": 3,
            "deployments": 2,
            "success_rate": 0.75,
            "deployments_per_day": round(2 / 7, 3),
        }
    ]


def _samples(resource: Any, metric: str, values: list[float], days: int = 15) -> None:
    now = timezone.now()
    for day in range(days):
        MetricSample.objects.create(
            resource=resource,
            resource_type="x",
            metric=metric,
            timestamp=now - timedelta(days=day),
            value=values[day % len(values)],
        )


def test_rightsizing_hints(teams: dict, make_resource: Any) -> None:
    payments = teams["payments"]
    idle_db = make_resource(payments, "rds-postgres", "idle", cost="80.00")
    busy_db = make_resource(payments, "rds-postgres", "busy", cost="80.00")
    new_db = make_resource(payments, "rds-postgres", "new", cost="80.00")
    fat_fn = make_resource(
        payments, "lambda-function", "fat", cost="20.00", parameters={"memory_size": 1024}
    )
    queue = make_resource(payments, "sqs-queue", "used", cost="1.00")
    _samples(idle_db, "CPUUtilization", [1.0, 3.5])
    _samples(busy_db, "CPUUtilization", [1.0, 40.0])
    _samples(new_db, "CPUUtilization", [1.0], days=3)  # not 14 days of evidence yet
    _samples(fat_fn, "used_memory_max", [90.0, 120.0])
    _samples(queue, "ApproximateNumberOfMessagesVisible", [0, 2])

    [idle] = hints_for(idle_db)
    assert idle.kind == "idle" and idle.saving == Decimal("40.00")
    assert hints_for(busy_db) == [] and hints_for(new_db) == [] and hints_for(queue) == []
    [fat] = hints_for(fat_fn)
    assert fat.kind == "oversized" and "192 MB" in fat.message
    assert fat.saving == Decimal("16.25")
    from provisioning.models import Resource

    everything = hints_for_many(Resource.objects.filter(team=payments))
    assert [h.resource.name for h in everything] == ["idle", "fat"]
