"""POST /webhooks/github/ with real payload shapes and real HMAC signatures."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines import services
from pipelines.choices import DeliveryState
from pipelines.models import Pipeline, PipelineRun, WebhookDelivery

from .conftest import sign, workflow_job_payload, workflow_run_payload

ENVS = ["dev", "staging", "prod"]


@pytest.fixture
def pipeline(payments_service: Any, bob: Any, github: Any) -> Pipeline:
    p = services.create_pipeline(payments_service, template="python", environments=ENVS, actor=bob)
    return services.deliver(p.pk)


def _states(pipeline: Pipeline) -> dict[str, str]:
    return {r.environment: r.state for r in PipelineRun.objects.filter(pipeline=pipeline)}


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "sha1=abc", "garbage"])
def test_bad_or_missing_signature_is_401_and_nothing_is_stored(
    pipeline: Pipeline, send_webhook: Any, signature: str | None
) -> None:
    response = send_webhook("workflow_run", workflow_run_payload(pipeline), signature=signature)
    assert response.status_code == 401
    assert PipelineRun.objects.count() == 0 and WebhookDelivery.objects.count() == 0


def test_signature_with_another_secret_is_refused(pipeline: Pipeline, client: Any) -> None:
    import json

    body = json.dumps(workflow_run_payload(pipeline)).encode()
    response = client.post(
        "/webhooks/github/",
        data=body,
        content_type="application/json",
        HTTP_X_GITHUB_EVENT="workflow_run",
        HTTP_X_GITHUB_DELIVERY="d-1",
        HTTP_X_HUB_SIGNATURE_256=sign(body, "another-secret"),
    )
    assert response.status_code == 401 and not PipelineRun.objects.exists()


def test_workflow_run_moves_runs_through_their_states(
    pipeline: Pipeline, send_webhook: Any
) -> None:
    started = workflow_run_payload(
        pipeline, action="in_progress", status="in_progress", conclusion=None
    )
    assert send_webhook("workflow_run", started).status_code == 200
    assert _states(pipeline) == {
        "dev": "in_progress",
        "staging": "in_progress",
        "prod": "in_progress",
    }
    done = workflow_run_payload(pipeline)
    assert send_webhook("workflow_run", done).json()["pipelines"] == [pipeline.pk]
    assert _states(pipeline) == {"dev": "success", "staging": "success", "prod": "success"}
    run = PipelineRun.objects.get(pipeline=pipeline, environment="dev")
    assert run.duration_seconds == 200 and run.actor == "alice-gh"
    assert run.head_sha.startswith("acb5820") and run.html_url.endswith("/30433642")
    pipeline.refresh_from_db()
    assert pipeline.last_event_at is not None


def test_workflow_job_refines_its_environment(pipeline: Pipeline, send_webhook: Any) -> None:
    send_webhook(
        "workflow_run",
        workflow_run_payload(pipeline, action="in_progress", status="in_progress", conclusion=None),
    )
    send_webhook("workflow_job", workflow_job_payload(pipeline, "Deploy to dev"))
    send_webhook(
        "workflow_job",
        workflow_job_payload(pipeline, "Deploy to staging", status="in_progress", conclusion=None),
    )
    send_webhook("workflow_job", workflow_job_payload(pipeline, "Test"))  # not a deploy job
    assert _states(pipeline) == {"dev": "success", "staging": "in_progress", "prod": "in_progress"}
    # The finished workflow does not overwrite what the dev job reported.
    send_webhook("workflow_run", workflow_run_payload(pipeline, conclusion="failure"))
    assert _states(pipeline) == {"dev": "success", "staging": "in_progress", "prod": "failure"}
    assert PipelineRun.objects.get(pipeline=pipeline, environment="dev").duration_seconds == 65


def test_pull_request_runs_are_checks_without_environment(
    pipeline: Pipeline, send_webhook: Any
) -> None:
    payload = workflow_run_payload(
        pipeline, event="pull_request", head_branch="idp/pipeline-python"
    )
    send_webhook("workflow_run", payload)
    assert _states(pipeline) == {"": "success"}


def test_repeated_delivery_id_is_ignored(pipeline: Pipeline, send_webhook: Any) -> None:
    first = send_webhook("workflow_run", workflow_run_payload(pipeline), delivery="abc-1")
    assert first.json()["status"] == "ok"
    PipelineRun.objects.update(conclusion="cancelled")
    again = send_webhook("workflow_run", workflow_run_payload(pipeline), delivery="abc-1")
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert set(PipelineRun.objects.values_list("conclusion", flat=True)) == {"cancelled"}
    assert WebhookDelivery.objects.filter(delivery_id="abc-1").count() == 1


def test_events_only_touch_pipelines_of_their_repository(
    pipeline: Pipeline, send_webhook: Any, search_service: Any, make_user: Any, teams: Any
) -> None:
    other_maintainer = make_user("sam", team=teams["search"], role="maintainer")
    other = services.create_pipeline(
        search_service, template="python", environments=ENVS, actor=other_maintainer
    )
    # Same workflow path, other repository: only that repository's pipeline moves.
    send_webhook("workflow_run", workflow_run_payload(other, repository="acme/search-api"))
    assert _states(other) == {"dev": "success", "staging": "success", "prod": "success"}
    assert _states(pipeline) == {}
    # A repository the platform does not know changes nothing.
    resp = send_webhook(
        "workflow_run", workflow_run_payload(pipeline, repository="evil/payments-api")
    )
    assert resp.json()["pipelines"] == [] and _states(pipeline) == {}


def test_pull_request_closed_marks_the_pipeline_merged(
    pipeline: Pipeline, send_webhook: Any
) -> None:
    payload = {
        "action": "closed",
        "number": pipeline.pr_number,
        "pull_request": {
            "number": pipeline.pr_number,
            "state": "closed",
            "merged": True,
            "html_url": pipeline.pr_url,
            "head": {"ref": pipeline.branch},
            "base": {"ref": "main"},
        },
        "repository": {"full_name": pipeline.repository},
    }
    send_webhook("pull_request", payload)
    pipeline.refresh_from_db()
    assert pipeline.delivery_state == DeliveryState.MERGED


def test_ping_and_unhandled_events_are_accepted_without_changes(
    pipeline: Pipeline, send_webhook: Any
) -> None:
    assert send_webhook("ping", {"zen": "Keep it logically awesome."}).json() == {"status": "pong"}
    assert send_webhook("issues", {"action": "opened"}).json()["status"] == "ignored"
    assert not WebhookDelivery.objects.exists()


def test_signed_but_malformed_body_is_400(pipeline: Pipeline, client: Any) -> None:
    body = b"not json"
    response = client.post(
        "/webhooks/github/",
        data=body,
        content_type="application/json",
        HTTP_X_GITHUB_EVENT="workflow_run",
        HTTP_X_GITHUB_DELIVERY="d-2",
        HTTP_X_HUB_SIGNATURE_256=sign(body),
    )
    assert response.status_code == 400
