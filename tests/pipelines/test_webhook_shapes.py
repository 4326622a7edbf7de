"""A signed GitHub webhook whose payload is not the shape GitHub sends is a 400 naming the
field, for every event the platform reads (issue 24, finding 10): `repository: 5` was an
AttributeError, a 500 (and under `make run`, Django's technical page with the settings).

Signed means the sender holds the webhook secret (or GitHub itself changed a shape); either
way nothing is stored, and GitHub may redeliver once the cause is fixed.
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest
from django.test import Client

from catalog.models import Location
from pipelines import services
from pipelines.models import Pipeline, PipelineRun, WebhookDelivery

from .conftest import REPOSITORY, sign, workflow_job_payload, workflow_run_payload

ENVS = ["dev", "staging", "prod"]
MISSING = object()


@pytest.fixture
def pipeline(payments_service: Any, bob: Any, github: Any) -> Pipeline:
    p = services.create_pipeline(payments_service, template="python", environments=ENVS, actor=bob)
    return services.deliver(p.pk)


def pull_request_payload(pipeline: Pipeline) -> dict[str, Any]:
    return {
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
        "repository": {"id": 186853002, "full_name": REPOSITORY, "owner": {"login": "acme"}},
    }


def push_payload(pipeline: Pipeline) -> dict[str, Any]:
    return {
        "ref": "refs/heads/main",
        "before": "0" * 40,
        "after": "a" * 40,
        "repository": {
            "id": 186853002,
            "name": "payments-api",
            "full_name": REPOSITORY,
            "owner": {"login": "acme", "name": "acme"},
            "html_url": f"https://github.com/{REPOSITORY}",
            "clone_url": f"https://github.com/{REPOSITORY}.git",
            "default_branch": "main",
            "created_at": 1767607200,  # push events give seconds, not a date string
        },
        "pusher": {"name": "bob"},
    }


def payload_of(event: str, pipeline: Pipeline) -> dict[str, Any]:
    if event == "workflow_run":
        return workflow_run_payload(pipeline)
    if event == "workflow_job":
        return workflow_job_payload(pipeline, "Deploy to dev")
    if event == "pull_request":
        return pull_request_payload(pipeline)
    return push_payload(pipeline)


def post(client: Client, event: str, payload: Any) -> Any:
    body = json.dumps(payload).encode() if not isinstance(payload, bytes) else payload
    return client.post(
        "/webhooks/github/",
        data=body,
        content_type="application/json",
        HTTP_X_GITHUB_EVENT=event,
        HTTP_X_GITHUB_DELIVERY=str(uuid.uuid4()),
        HTTP_X_HUB_SIGNATURE_256=sign(body),
    )


def changed(payload: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A copy of `payload` with the key at `dotted` set to `value` (MISSING: removed)."""
    result = copy.deepcopy(payload)
    *parents, last = dotted.split(".")
    node = result
    for part in parents:
        node = node[part]
    if value is MISSING:
        node.pop(last, None)
    else:
        node[last] = value
    return result


EVENTS = ["workflow_run", "workflow_job", "pull_request", "push"]
# Every event: the repository it came from.
REPOSITORY_CASES = [
    ("repository", 5),
    ("repository", None),
    ("repository", "acme/payments-api"),
    ("repository", ["acme/payments-api"]),
    ("repository", MISSING),
]
# What each event's handler reads, broken in every way a type can be.
FIELD_CASES = {
    "workflow_run": [
        ("repository.full_name", 5),
        ("repository.full_name", None),
        ("repository.full_name", MISSING),
        ("repository.full_name", ""),
        ("workflow_run", 5),
        ("workflow_run", None),
        ("workflow_run", []),
        ("workflow_run", MISSING),
        ("workflow_run.id", MISSING),
        ("workflow_run.id", [1]),
        ("workflow_run.actor", "alice-gh"),
        ("workflow_run.actor.login", {"x": 1}),
        ("workflow_run.triggering_actor", 7),
        ("workflow_run.path", 5),
        ("workflow_run.path", {"a": "b"}),
        ("workflow_run.head_branch", ["main"]),
        ("workflow_run.head_sha", 123),
        ("workflow_run.status", {"s": 1}),
        ("workflow_run.conclusion", 1),
        ("workflow_run.event", []),
        ("workflow_run.html_url", False),
        ("workflow_run.created_at", 1767607200),
        ("workflow_run.run_attempt", [1]),
        ("workflow_run.run_number", {}),
    ],
    "workflow_job": [
        ("repository.full_name", 5),
        ("repository.full_name", MISSING),
        ("workflow_job", "x"),
        ("workflow_job", None),
        ("workflow_job", MISSING),
        ("workflow_job.run_id", MISSING),
        ("workflow_job.run_id", 1.5),
        ("workflow_job.name", 5),
        ("workflow_job.name", None),
        ("workflow_job.workflow_name", {"a": 1}),
        ("workflow_job.status", 5),
        ("workflow_job.conclusion", []),
        ("workflow_job.started_at", 5),
        ("workflow_job.head_sha", 5),
        ("workflow_job.head_branch", 5),
        ("workflow_job.html_url", []),
        ("workflow_job.run_attempt", [2]),
    ],
    "pull_request": [
        ("repository.full_name", None),
        ("action", 5),
        ("action", MISSING),
        ("pull_request", 5),
        ("pull_request", None),
        ("pull_request", MISSING),
        ("pull_request.head", "idp/pipeline-python"),
        ("pull_request.head", None),
        ("pull_request.head", MISSING),
        ("pull_request.head.ref", 5),
        ("pull_request.head.ref", MISSING),
        ("pull_request.number", "7"),
        ("pull_request.number", MISSING),
        ("pull_request.merged", "yes"),
        ("pull_request.html_url", 5),
    ],
    "push": [
        ("ref", 5),
        ("ref", None),
        ("ref", MISSING),
        ("repository.owner", "acme"),
        ("repository.owner.login", 5),
        ("repository.owner.name", []),
        ("repository.clone_url", 5),
        ("repository.html_url", {"a": 1}),
        ("repository.default_branch", 5),
        ("repository.master_branch", []),
    ],
}
CASES = [(event, key, value) for event in EVENTS for key, value in REPOSITORY_CASES] + [
    (event, key, value) for event, cases in FIELD_CASES.items() for key, value in cases
]


def _case_id(case: Any) -> str:
    return "missing" if case is MISSING else repr(case)


@pytest.mark.parametrize(("event", "key", "value"), CASES, ids=_case_id)
def test_a_signed_event_of_the_wrong_shape_is_a_400_naming_the_field(
    pipeline: Pipeline, client: Client, event: str, key: str, value: Any
) -> None:
    """(The test client re-raises a view's exception: a 500 here fails loudly.)"""
    response = post(client, event, changed(payload_of(event, pipeline), key, value))
    assert response.status_code == 400, response.content
    detail = response.json()["detail"]
    assert isinstance(detail, dict), detail
    assert key in detail, detail
    assert all(isinstance(m, str) and m for messages in detail.values() for m in messages)
    # Nothing is stored, not even the delivery id: GitHub may redeliver it.
    assert not WebhookDelivery.objects.exists()
    assert not PipelineRun.objects.exists()


@pytest.mark.parametrize("event", EVENTS)
def test_the_reason_says_what_was_expected(pipeline: Pipeline, client: Client, event: str) -> None:
    response = post(client, event, changed(payload_of(event, pipeline), "repository", 5))
    assert response.json()["detail"] == {"repository": ["Expected an object."]}
    missing = post(client, event, changed(payload_of(event, pipeline), "repository", MISSING))
    assert missing.json()["detail"] == {"repository": ["This field is required."]}


def test_a_string_the_size_of_the_body_is_not_echoed(pipeline: Pipeline, client: Client) -> None:
    huge = "x" * 100_000
    response = post(
        client, "workflow_run", changed(workflow_run_payload(pipeline), "workflow_run.path", [huge])
    )
    assert response.status_code == 400
    assert len(response.content) < 1000


def test_a_body_nested_past_the_stack_is_a_400(pipeline: Pipeline, client: Client) -> None:
    body = b'{"repository": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    response = post(client, "workflow_run", body)
    assert response.status_code == 400, response.content
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize("event", EVENTS)
def test_the_shapes_github_sends_are_accepted(
    pipeline: Pipeline, client: Client, event: str
) -> None:
    response = post(client, event, payload_of(event, pipeline))
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "ok"


def test_nullable_fields_github_sends_as_null_are_accepted(
    pipeline: Pipeline, client: Client
) -> None:
    run = workflow_run_payload(pipeline, status="queued", conclusion=None)
    run["workflow_run"].update(
        {"head_branch": None, "run_started_at": None, "triggering_actor": None}
    )
    assert post(client, "workflow_run", run).status_code == 200
    job = workflow_job_payload(pipeline, "Deploy to dev", status="queued", conclusion=None)
    job["workflow_job"].update({"head_branch": None, "started_at": None})
    assert post(client, "workflow_job", job).status_code == 200
    pr = pull_request_payload(pipeline)
    pr["pull_request"]["merged"] = None
    assert post(client, "pull_request", pr).status_code == 200
    push = push_payload(pipeline)
    push["repository"]["owner"] = None
    assert post(client, "push", push).status_code == 200


def test_unhandled_events_and_ping_are_not_judged(pipeline: Pipeline, client: Client) -> None:
    assert post(client, "ping", {"zen": "x", "repository": 5}).json() == {"status": "pong"}
    assert post(client, "issues", {"repository": 5}).json()["status"] == "ignored"
    assert not Location.objects.exists()
