"""Polling: `manage.py sync_pipeline_runs` and the beat task read runs from the GitHub API."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from pipelines import services
from pipelines.models import Pipeline, PipelineRun
from pipelines.tasks import sync_pipeline_runs

from .conftest import REPOSITORY

ENVS = ["dev", "staging", "prod"]


@pytest.fixture
def delivered(payments_service: Any, bob: Any, github: Any) -> Pipeline:
    p = services.create_pipeline(payments_service, template="python", environments=ENVS, actor=bob)
    return services.deliver(p.pk)


def test_command_stores_runs_and_deploy_jobs(delivered: Pipeline, github: Any) -> None:
    run = github.add_run(
        REPOSITORY, delivered.workflow_path, status="in_progress", conclusion=None, run_number=12
    )
    github.add_job(REPOSITORY, run["id"], "Build")
    github.add_job(REPOSITORY, run["id"], "Deploy to dev")
    github.add_job(
        REPOSITORY,
        run["id"],
        "Deploy to staging",
        status="in_progress",
        conclusion=None,
        completed_at=None,
    )
    github.add_run(REPOSITORY, ".github/workflows/other.yml")  # not this pipeline's workflow
    out = StringIO()
    call_command("sync_pipeline_runs", "--all", stdout=out)
    assert "Synced 1 pipeline, " in out.getvalue()
    states = {r.environment: r.state for r in PipelineRun.objects.filter(pipeline=delivered)}
    assert states == {"dev": "success", "staging": "in_progress", "prod": "in_progress"}
    assert PipelineRun.objects.get(environment="dev").duration_seconds == 90
    assert PipelineRun.objects.filter(github_run_id=run["id"]).count() == 3


def test_beat_task_polls_only_quiet_pipelines(delivered: Pipeline, github: Any) -> None:
    github.add_run(REPOSITORY, delivered.workflow_path)
    Pipeline.objects.filter(pk=delivered.pk).update(last_event_at=timezone.now())
    assert sync_pipeline_runs.apply().result["synced"] == 0  # heard from recently
    Pipeline.objects.filter(pk=delivered.pk).update(
        last_event_at=timezone.now() - timezone.timedelta(hours=1)
    )
    assert sync_pipeline_runs.apply().result == {"synced": 1, "failed": 0, "runs": 3}


def test_command_reports_github_errors(delivered: Pipeline, github: Any) -> None:
    github.fail(403, path_contains="/actions/runs")
    err = StringIO()
    with pytest.raises(CommandError):
        call_command(
            "sync_pipeline_runs", "--pipeline", str(delivered.pk), stderr=err, stdout=StringIO()
        )
    assert "403" in err.getvalue()
    with pytest.raises(CommandError, match="No pipeline"):
        call_command("sync_pipeline_runs", "--pipeline", "999999", stdout=StringIO())
