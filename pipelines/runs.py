"""Run status from GitHub: webhook events and polling land here, in one place.

A workflow run of a push to the deploy branch is stored once per environment of the
pipeline (its deploy jobs); a pull-request run once, with a blank environment (checks).
Job events ("Deploy to <env>") refine the environment they belong to.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from idp import audit

from .choices import DeliveryState, RunSource, RunStatus
from .github_client import GitHubError, list_runs
from .models import Pipeline, PipelineRun, WebhookDelivery

DEPLOY_JOB = re.compile(r"^Deploy to (?P<env>[A-Za-z0-9][A-Za-z0-9_-]*)$")
DEPLOY_EVENTS = {"push", "workflow_dispatch"}


def _dt(value: Any) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) and value else None


def _duration(start: datetime | None, end: datetime | None) -> int | None:
    if start and end and end >= start:
        return int((end - start).total_seconds())
    return None


def _status(value: Any) -> str:
    return value if value in RunStatus.values else RunStatus.QUEUED


def pipelines_for(repository: str) -> Any:
    """Only the pipelines of the repository an event came from."""
    return Pipeline.objects.filter(repository__iexact=repository).select_related("service__team")


def _run_environments(pipeline: Pipeline, run: dict[str, Any]) -> list[str]:
    deploy_branch = str((pipeline.options.get("branches") or ["main"])[0])
    if run.get("event") in DEPLOY_EVENTS and run.get("head_branch") == deploy_branch:
        return list(pipeline.environments)
    return [""]


def apply_workflow_run(pipeline: Pipeline, run: dict[str, Any]) -> list[PipelineRun]:
    """Store a workflow run (webhook `workflow_run` or API shape) for its environments."""
    status = _status(run.get("status"))
    completed = status == RunStatus.COMPLETED
    started = _dt(run.get("run_started_at")) or _dt(run.get("created_at"))
    ended = _dt(run.get("updated_at")) if completed else None
    common = {
        "run_number": run.get("run_number"),
        "event": str(run.get("event") or "")[:40],
        "head_branch": str(run.get("head_branch") or "")[:255],
        "head_sha": str(run.get("head_sha") or "")[:64],
        "actor": str((run.get("triggering_actor") or run.get("actor") or {}).get("login", ""))[
            :100
        ],
        "html_url": str(run.get("html_url") or "")[:200],
        "started_at": started,
    }
    stored = []
    for env in _run_environments(pipeline, run):
        obj, _ = PipelineRun.objects.select_for_update().get_or_create(
            pipeline=pipeline,
            github_run_id=int(run["id"]),
            run_attempt=int(run.get("run_attempt") or 1),
            environment=env,
            defaults={**common, "status": status},
        )
        for key, value in common.items():
            if value or key not in ("started_at",):
                setattr(obj, key, value if value is not None else getattr(obj, key))
        if obj.source != RunSource.JOB:
            # The job of this environment knows better; the workflow only fills gaps.
            obj.status = status
            obj.conclusion = str(run.get("conclusion") or "") if completed else ""
            obj.completed_at = ended
            obj.duration_seconds = _duration(started, ended)
        obj.save()
        stored.append(obj)
    return stored


def apply_workflow_job(
    pipeline: Pipeline, job: dict[str, Any], run: dict[str, Any] | None = None
) -> PipelineRun | None:
    """Store a deploy job's state on its environment's run row; other jobs are ignored."""
    match = DEPLOY_JOB.match(str(job.get("name") or ""))
    if not match or match["env"] not in pipeline.environments:
        return None
    status = _status(job.get("status"))
    started, ended = _dt(job.get("started_at")), _dt(job.get("completed_at"))
    obj, _ = PipelineRun.objects.select_for_update().get_or_create(
        pipeline=pipeline,
        github_run_id=int(job["run_id"]),
        run_attempt=int(job.get("run_attempt") or 1),
        environment=match["env"],
        defaults={
            "head_sha": str(job.get("head_sha") or "")[:64],
            "head_branch": str(job.get("head_branch") or (run or {}).get("head_branch") or "")[
                :255
            ],
            "event": str((run or {}).get("event") or "push")[:40],
        },
    )
    obj.source = RunSource.JOB
    obj.status = status
    obj.conclusion = str(job.get("conclusion") or "") if status == RunStatus.COMPLETED else ""
    obj.started_at = started or obj.started_at
    obj.completed_at = ended if status == RunStatus.COMPLETED else None
    obj.duration_seconds = _duration(started, obj.completed_at)
    obj.html_url = str(job.get("html_url") or obj.html_url)[:200]
    obj.save()
    return obj


def _touch(pipelines: list[Pipeline]) -> None:
    Pipeline.objects.filter(pk__in=[p.pk for p in pipelines]).update(last_event_at=timezone.now())


def _pipeline_of_run(repository: str, run: dict[str, Any]) -> list[Pipeline]:
    path = str(run.get("path") or "").split("@", 1)[0]
    return [p for p in pipelines_for(repository) if p.workflow_path == path]


def handle_event(event: str, delivery_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Apply one verified webhook delivery; a delivery id seen before changes nothing."""
    repository = str((payload.get("repository") or {}).get("full_name") or "")
    with transaction.atomic():
        try:
            with transaction.atomic():
                WebhookDelivery.objects.create(
                    delivery_id=delivery_id[:100], event=event[:50], repository=repository[:200]
                )
        except IntegrityError:
            return {"status": "duplicate", "pipelines": []}
        touched: list[Pipeline] = []
        if event == "workflow_run" and isinstance(payload.get("workflow_run"), dict):
            run = payload["workflow_run"]
            for pipeline in _pipeline_of_run(repository, run):
                apply_workflow_run(pipeline, run)
                touched.append(pipeline)
        elif event == "workflow_job" and isinstance(payload.get("workflow_job"), dict):
            job = payload["workflow_job"]
            for pipeline in pipelines_for(repository):
                known = pipeline.runs.filter(github_run_id=job.get("run_id")).exists()
                ours = known or pipeline.workflow_name == job.get("workflow_name")
                if ours and apply_workflow_job(pipeline, job):
                    touched.append(pipeline)
        elif event == "pull_request" and isinstance(payload.get("pull_request"), dict):
            touched = _apply_pull_request(repository, payload)
        _touch(touched)
    return {"status": "ok", "pipelines": [p.pk for p in touched]}


def _apply_pull_request(repository: str, payload: dict[str, Any]) -> list[Pipeline]:
    pr = payload["pull_request"]
    head = str((pr.get("head") or {}).get("ref") or "")
    action = payload.get("action")
    touched = []
    for pipeline in pipelines_for(repository).filter(branch=head):
        if pipeline.pr_number and pr.get("number") != pipeline.pr_number:
            continue
        state = pipeline.delivery_state
        if action == "closed":
            state = DeliveryState.MERGED if pr.get("merged") else DeliveryState.CLOSED
        elif action == "reopened":
            state = DeliveryState.DELIVERED
        if state != pipeline.delivery_state:
            Pipeline.objects.filter(pk=pipeline.pk).update(
                delivery_state=state, updated_at=timezone.now()
            )
            audit.record(
                f"pipeline.pr_{state}",
                target=pipeline,
                team=pipeline.service.team,
                details={"pr": pr.get("html_url", ""), "action": action},
            )
        touched.append(pipeline)
    return touched


def sync_pipeline(pipeline: Pipeline) -> int:
    """Poll GitHub for a pipeline's recent runs and their jobs; returns runs stored."""
    count = 0
    for item in list_runs(pipeline.repository, pipeline.workflow_path):
        with transaction.atomic():
            count += len(apply_workflow_run(pipeline, item["run"]))
            for job in item["jobs"]:
                apply_workflow_job(pipeline, job, item["run"])
    Pipeline.objects.filter(pk=pipeline.pk).update(last_event_at=timezone.now())
    return count


def quiet_pipelines(minutes: int | None = None) -> Any:
    """Delivered pipelines whose webhooks have not been heard from for a while."""
    minutes = (
        minutes if minutes is not None else getattr(settings, "IDP_PIPELINE_QUIET_MINUTES", 10)
    )
    cutoff = timezone.now() - timedelta(minutes=minutes)
    from django.db.models import Q

    return Pipeline.objects.filter(
        delivery_state__in=[DeliveryState.DELIVERED, DeliveryState.MERGED]
    ).filter(Q(last_event_at__isnull=True) | Q(last_event_at__lt=cutoff))


def sync_quiet_pipelines(minutes: int | None = None) -> dict[str, int]:
    """Poll every quiet pipeline; GitHub errors are counted and logged, not raised."""
    import logging

    log = logging.getLogger(__name__)
    synced = failed = runs = 0
    for pipeline in quiet_pipelines(minutes).select_related("service__team"):
        try:
            runs += sync_pipeline(pipeline)
            synced += 1
        except GitHubError as exc:
            failed += 1
            log.warning("sync of pipeline %s failed: %s", pipeline.pk, exc.message)
    return {"synced": synced, "failed": failed, "runs": runs}
