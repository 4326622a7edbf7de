"""Run status from GitHub: webhook events and polling land here, in one place.

A workflow run of a push to the deploy branch is stored once per environment of the
pipeline (its deploy jobs); a pull-request run once, with a blank environment (checks).
Job events ("Deploy to <env>") refine the environment they belong to.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from idp import audit
from idp.conf import setting
from idp.github_client import GitHubError, list_runs
from idp.services import ServiceError

from .choices import DeliveryState, RunSource, RunStatus
from .models import Pipeline, PipelineRun, WebhookDelivery

DEPLOY_JOB = re.compile(r"^Deploy to (?P<env>[A-Za-z0-9][A-Za-z0-9_-]*)$")
DEPLOY_EVENTS = {"push", "workflow_dispatch"}
MAX_RUN_ID = 2**63 - 1  # github_run_id is a BigIntegerField
MAX_COUNT = 2**31 - 1  # run_attempt and run_number are PositiveIntegerFields
STALE = "ignored: older than recorded"


def _bad(field: str, reason: str) -> ServiceError:
    return ServiceError(reason, field=field)


def _whole(value: Any, field: str, maximum: int) -> int:
    """A positive whole number as GitHub sends it (a JSON integer, or its digits)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= maximum:
        raise _bad(field, "Expected a positive whole number.")
    return value


def _attempt(value: Any, field: str) -> int:
    return 1 if value in (None, "", 0) else _whole(value, field, MAX_COUNT)


def _dt(value: Any, field: str = "") -> datetime | None:
    """An ISO date-time (UTC when it names no offset); empty is None, anything else a 400."""
    if value is None or value == "":
        return None
    try:
        when = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        when = None
    if when is None:
        raise _bad(field, "Expected an ISO 8601 date-time.")
    return timezone.make_aware(when, UTC) if timezone.is_naive(when) else when


def _duration(start: datetime | None, end: datetime | None) -> int | None:
    if start and end and end >= start:
        return int((end - start).total_seconds())
    return None


def _status(value: Any) -> str:
    return value if value in RunStatus.values else RunStatus.QUEUED


def _older_than_recorded(row: PipelineRun, status: str, updated: datetime | None) -> bool:
    """Whether an event about this attempt is older than what its row holds.

    A finished attempt never goes back to queued or in progress (a re-run is a new attempt),
    and GitHub's `updated_at` never goes backwards for one attempt.
    """
    if row.status == RunStatus.COMPLETED and status != RunStatus.COMPLETED:
        return True
    return bool(updated and row.github_updated_at and updated < row.github_updated_at)


def _newest_attempt(pipeline: Pipeline, run_id: int) -> int:
    newest = PipelineRun.objects.filter(pipeline=pipeline, github_run_id=run_id).aggregate(
        m=Max("run_attempt")
    )["m"]
    return int(newest or 0)


def pipelines_for(repository: str) -> Any:
    """Only the pipelines of the repository an event came from."""
    return Pipeline.objects.filter(repository__iexact=repository).select_related("service__team")


def _run_environments(pipeline: Pipeline, run: dict[str, Any]) -> list[str]:
    deploy_branch = str((pipeline.options.get("branches") or ["main"])[0])
    if run.get("event") in DEPLOY_EVENTS and run.get("head_branch") == deploy_branch:
        return list(pipeline.environments)
    return [""]


def _row(
    pipeline: Pipeline, run_id: int, attempt: int, env: str, defaults: dict[str, Any]
) -> PipelineRun | None:
    """The locked row of one attempt in one environment; an attempt older than the newest
    recorded one never gets a new row (its events arrive late or replayed)."""
    rows = PipelineRun.objects.select_for_update()
    key = {"pipeline": pipeline, "github_run_id": run_id, "run_attempt": attempt}
    if attempt < _newest_attempt(pipeline, run_id):
        return rows.filter(**key, environment=env).first()
    return rows.get_or_create(**key, environment=env, defaults=defaults)[0]


def check_workflow_run(run: dict[str, Any], prefix: str = "workflow_run") -> None:
    """Refuse (400) a run whose ids or times are not what GitHub sends."""
    _whole(run.get("id"), f"{prefix}.id", MAX_RUN_ID)
    _attempt(run.get("run_attempt"), f"{prefix}.run_attempt")
    if run.get("run_number") is not None:
        _whole(run.get("run_number"), f"{prefix}.run_number", MAX_COUNT)
    for key in ("run_started_at", "created_at", "updated_at"):
        _dt(run.get(key), f"{prefix}.{key}")


def check_workflow_job(job: dict[str, Any], prefix: str = "workflow_job") -> None:
    """Refuse (400) a job whose ids or times are not what GitHub sends."""
    _whole(job.get("run_id"), f"{prefix}.run_id", MAX_RUN_ID)
    _attempt(job.get("run_attempt"), f"{prefix}.run_attempt")
    for key in ("started_at", "completed_at"):
        _dt(job.get(key), f"{prefix}.{key}")


def apply_workflow_run(pipeline: Pipeline, run: dict[str, Any]) -> list[PipelineRun]:
    """Store a workflow run (webhook `workflow_run` or API shape) for its environments.

    Returns the rows it changed: none when the run is older than what is recorded.
    """
    check_workflow_run(run)
    run_id = _whole(run.get("id"), "workflow_run.id", MAX_RUN_ID)
    attempt = _attempt(run.get("run_attempt"), "workflow_run.run_attempt")
    status = _status(run.get("status"))
    completed = status == RunStatus.COMPLETED
    started = _dt(run.get("run_started_at")) or _dt(run.get("created_at"))
    updated = _dt(run.get("updated_at"))
    ended = updated if completed else None
    number = run.get("run_number")
    common = {
        "run_number": None if number is None else _whole(number, "run_number", MAX_COUNT),
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
        obj = _row(
            pipeline,
            run_id,
            attempt,
            env,
            {**common, "status": status, "github_updated_at": updated},
        )
        if obj is None or _older_than_recorded(obj, status, updated):
            continue
        for key, value in common.items():
            if value or key not in ("started_at",):
                setattr(obj, key, value if value is not None else getattr(obj, key))
        obj.github_updated_at = updated or obj.github_updated_at
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
    """Store a deploy job's state on its environment's run row; other jobs are ignored,
    and so is a job event older than what the row holds (None either way)."""
    check_workflow_job(job)
    match = DEPLOY_JOB.match(str(job.get("name") or ""))
    if not match or match["env"] not in pipeline.environments:
        return None
    status = _status(job.get("status"))
    started, ended = _dt(job.get("started_at")), _dt(job.get("completed_at"))
    obj = _row(
        pipeline,
        _whole(job.get("run_id"), "workflow_job.run_id", MAX_RUN_ID),
        _attempt(job.get("run_attempt"), "workflow_job.run_attempt"),
        match["env"],
        {
            "head_sha": str(job.get("head_sha") or "")[:64],
            "head_branch": str(job.get("head_branch") or (run or {}).get("head_branch") or "")[
                :255
            ],
            "event": str((run or {}).get("event") or "push")[:40],
        },
    )
    # A job has no updated_at: only "a finished attempt never restarts" applies.
    if obj is None or _older_than_recorded(obj, status, None):
        return None
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
    """Apply one verified webhook delivery; a delivery id seen before changes nothing.

    The signature covers the body, not the delivery id, so a body can come again under a new
    id: an event older than what is recorded is acknowledged and ignored. A run or job with
    ids or times GitHub would not send raises ServiceError (400) and stores nothing.
    """
    repository = str((payload.get("repository") or {}).get("full_name") or "")
    run = payload.get("workflow_run") if event == "workflow_run" else None
    job = payload.get("workflow_job") if event == "workflow_job" else None
    if isinstance(run, dict):
        check_workflow_run(run)
    if isinstance(job, dict):
        check_workflow_job(job)
    with transaction.atomic():
        try:
            with transaction.atomic():
                WebhookDelivery.objects.create(
                    delivery_id=delivery_id[:100], event=event[:50], repository=repository[:200]
                )
        except IntegrityError:
            return {"status": "duplicate", "pipelines": []}
        touched: list[Pipeline] = []
        stale = False
        if isinstance(run, dict):
            for pipeline in _pipeline_of_run(repository, run):
                if apply_workflow_run(pipeline, run):
                    touched.append(pipeline)
                else:
                    stale = True
        elif isinstance(job, dict):
            run_id = _whole(job.get("run_id"), "workflow_job.run_id", MAX_RUN_ID)
            for pipeline in pipelines_for(repository):
                known = pipeline.runs.filter(github_run_id=run_id).exists()
                ours = known or pipeline.workflow_name == job.get("workflow_name")
                if not ours:
                    continue
                if apply_workflow_job(pipeline, job):
                    touched.append(pipeline)
                elif _is_deploy_job(pipeline, job):
                    stale = True
        elif event == "pull_request" and isinstance(payload.get("pull_request"), dict):
            touched = _apply_pull_request(repository, payload)
        _touch(touched)
    if stale and not touched:
        return {"status": "ignored", "detail": STALE, "pipelines": []}
    return {"status": "ok", "pipelines": [p.pk for p in touched]}


def _is_deploy_job(pipeline: Pipeline, job: dict[str, Any]) -> bool:
    match = DEPLOY_JOB.match(str(job.get("name") or ""))
    return bool(match and match["env"] in pipeline.environments)


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
    minutes = minutes if minutes is not None else setting("IDP_PIPELINE_QUIET_MINUTES")
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
        except (GitHubError, ServiceError) as exc:
            # ServiceError: GitHub answered a run this platform cannot read.
            failed += 1
            log.warning("sync of pipeline %s failed: %s", pipeline.pk, exc.message)
    return {"synced": synced, "failed": failed, "runs": runs}
