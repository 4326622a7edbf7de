"""A signed GitHub event replayed later never rolls a pipeline run back.

The signature covers the body, not X-GitHub-Delivery: an old `in_progress` event sent again
under a new delivery id once moved a finished run back to in progress. Events older than
what is recorded (GitHub's `updated_at`, the run attempt) are now acknowledged and ignored,
and a finished attempt never goes back to queued or in progress. A signed body whose run id
is not a number answered 500; it is a 400 naming the field.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from pipelines import runs, services
from pipelines.choices import RunStatus
from pipelines.models import Pipeline, PipelineRun, WebhookDelivery
from tests.pipelines import conftest as pipeline_fixtures
from tests.pipelines.conftest import sign, workflow_job_payload, workflow_run_payload

# The pipelines suite's fixtures: a GitHub-shaped server, environments, a payments service.
environments = pipeline_fixtures.environments
github_server = pipeline_fixtures.github_server
github = pipeline_fixtures.github
make_service = pipeline_fixtures.make_service
payments_service = pipeline_fixtures.payments_service
send_webhook = pipeline_fixtures.send_webhook

ENVS = ["dev", "staging", "prod"]
IGNORED = {"status": "ignored", "detail": "ignored: older than recorded", "pipelines": []}


@pytest.fixture
def pipeline(payments_service: Any, bob: Any, github: Any) -> Pipeline:
    p = services.create_pipeline(payments_service, template="python", environments=ENVS, actor=bob)
    return services.deliver(p.pk)


def _states(pipeline: Pipeline, attempt: int = 1) -> dict[str, str]:
    rows = PipelineRun.objects.filter(pipeline=pipeline, run_attempt=attempt)
    return {r.environment: r.state for r in rows}


def _started(pipeline: Pipeline, **run: Any) -> dict[str, Any]:
    payload = workflow_run_payload(
        pipeline, action="in_progress", status="in_progress", conclusion=None
    )
    payload["workflow_run"].update({"updated_at": "2026-01-05T10:00:05Z", **run})
    return payload


def _done(pipeline: Pipeline, **run: Any) -> dict[str, Any]:
    payload = workflow_run_payload(pipeline)
    payload["workflow_run"].update(run)
    return payload


ALL_SUCCESS = {"dev": "success", "staging": "success", "prod": "success"}


def test_replayed_in_progress_under_a_new_delivery_id_is_ignored(
    pipeline: Pipeline, send_webhook: Any
) -> None:
    started = _started(pipeline)
    assert send_webhook("workflow_run", started, delivery="d-1").json()["status"] == "ok"
    assert send_webhook("workflow_run", _done(pipeline), delivery="d-2").json()["status"] == "ok"
    assert _states(pipeline) == ALL_SUCCESS
    replay = send_webhook("workflow_run", started, delivery="d-3-replayed")
    assert replay.status_code == 200
    assert replay.json() == IGNORED
    assert _states(pipeline) == ALL_SUCCESS
    run = PipelineRun.objects.get(pipeline=pipeline, environment="dev")
    assert run.completed_at is not None and run.duration_seconds == 200


def test_a_finished_attempt_never_restarts_even_with_the_same_timestamp(
    pipeline: Pipeline, send_webhook: Any
) -> None:
    send_webhook("workflow_run", _done(pipeline))
    # Same updated_at as the finished event: status order decides.
    same_time = _started(pipeline, updated_at="2026-01-05T10:03:20Z")
    assert send_webhook("workflow_run", same_time).json() == IGNORED
    queued = _started(pipeline, status="queued", updated_at="2026-01-05T10:09:00Z")
    assert send_webhook("workflow_run", queued).json() == IGNORED
    assert _states(pipeline) == ALL_SUCCESS


def test_an_older_event_of_a_running_attempt_is_ignored(
    pipeline: Pipeline, send_webhook: Any
) -> None:
    send_webhook("workflow_run", _started(pipeline, updated_at="2026-01-05T10:01:00Z"))
    older = _started(pipeline, status="queued", updated_at="2026-01-05T10:00:01Z")
    assert send_webhook("workflow_run", older).json() == IGNORED
    assert set(_states(pipeline).values()) == {"in_progress"}


def test_a_rerun_is_a_new_attempt_and_old_attempts_stay_old(
    pipeline: Pipeline, send_webhook: Any
) -> None:
    first_started = _started(pipeline)
    send_webhook("workflow_run", first_started)
    send_webhook("workflow_run", _done(pipeline, conclusion="failure"))
    rerun = _started(pipeline, run_attempt=2, updated_at="2026-01-05T11:00:00Z")
    assert send_webhook("workflow_run", rerun).json()["status"] == "ok"
    assert set(_states(pipeline, attempt=2).values()) == {"in_progress"}
    # The first attempt's old event, replayed: nothing moves.
    assert send_webhook("workflow_run", first_started).json() == IGNORED
    assert set(_states(pipeline, attempt=1).values()) == {"failure"}
    assert set(_states(pipeline, attempt=2).values()) == {"in_progress"}
    done = _done(pipeline, run_attempt=2, updated_at="2026-01-05T11:05:00Z")
    assert send_webhook("workflow_run", done).json()["status"] == "ok"
    assert _states(pipeline, attempt=2) == ALL_SUCCESS


def test_an_older_attempt_never_makes_new_rows(pipeline: Pipeline, send_webhook: Any) -> None:
    send_webhook("workflow_run", _done(pipeline, run_attempt=3))
    old = _started(pipeline, run_attempt=2, updated_at="2026-01-05T09:00:00Z")
    assert send_webhook("workflow_run", old).json() == IGNORED
    assert not PipelineRun.objects.filter(run_attempt=2).exists()


def test_a_replayed_job_event_never_restarts_its_environment(
    pipeline: Pipeline, send_webhook: Any
) -> None:
    started_job = workflow_job_payload(
        pipeline, "Deploy to dev", status="in_progress", conclusion=None
    )
    send_webhook("workflow_run", _started(pipeline))
    send_webhook("workflow_job", started_job)
    send_webhook("workflow_job", workflow_job_payload(pipeline, "Deploy to dev"))
    assert _states(pipeline)["dev"] == "success"
    assert send_webhook("workflow_job", started_job).json() == IGNORED
    assert _states(pipeline)["dev"] == "success"


def test_polling_never_rolls_back_either(pipeline: Pipeline, send_webhook: Any) -> None:
    send_webhook("workflow_run", _done(pipeline))
    stale = _started(pipeline)["workflow_run"]
    assert runs.apply_workflow_run(pipeline, stale) == []
    assert _states(pipeline) == ALL_SUCCESS


def _post_signed(client: Any, event: str, payload: dict[str, Any], delivery: str) -> Any:
    body = json.dumps(payload).encode()
    return client.post(
        "/webhooks/github/",
        data=body,
        content_type="application/json",
        HTTP_X_GITHUB_EVENT=event,
        HTTP_X_GITHUB_DELIVERY=delivery,
        HTTP_X_HUB_SIGNATURE_256=sign(body),
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("id", "abc"),
        ("id", None),
        ("id", True),
        ("id", 1.5),
        ("id", -4),
        ("id", 2**70),
        ("id", {"a": 1}),
        ("run_attempt", "x"),
        ("run_attempt", 2**40),
        ("run_number", "seven"),
        ("updated_at", "2026-13-45T99:00:00Z"),
        ("run_started_at", "2026-02-30T10:00:00Z"),
    ],
)
def test_signed_workflow_run_with_bad_fields_is_400(
    pipeline: Pipeline, client: Any, key: str, value: Any
) -> None:
    payload = copy.deepcopy(workflow_run_payload(pipeline))
    payload["workflow_run"][key] = value
    response = _post_signed(client, "workflow_run", payload, f"bad-{key}-{value!r}")
    assert response.status_code == 400, response.content
    assert f"workflow_run.{key}" in response.json()["detail"]
    assert not PipelineRun.objects.exists()
    assert not WebhookDelivery.objects.exists()  # GitHub may redeliver once it is fixed


@pytest.mark.parametrize(
    ("key", "value"),
    [("run_id", "abc"), ("run_id", None), ("run_attempt", "x"), ("completed_at", "not-a-date")],
)
def test_signed_workflow_job_with_bad_fields_is_400(
    pipeline: Pipeline, client: Any, key: str, value: Any
) -> None:
    payload = workflow_job_payload(pipeline, "Deploy to dev")
    payload["workflow_job"][key] = value
    response = _post_signed(client, "workflow_job", payload, f"bad-job-{key}")
    assert response.status_code == 400, response.content
    assert f"workflow_job.{key}" in response.json()["detail"]
    assert not PipelineRun.objects.exists()


def test_a_good_event_still_lands(pipeline: Pipeline, client: Any) -> None:
    response = _post_signed(client, "workflow_run", workflow_run_payload(pipeline), "good-1")
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert PipelineRun.objects.filter(status=RunStatus.COMPLETED).count() == 3
