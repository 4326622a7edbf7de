"""Pipelines fixtures: a GitHub-shaped server over real HTTP, environments, a payments service."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from catalog.models import Service
from idp.models import Environment, Team

from ..fakes.github import FakeGitHub
from ..utils import free_port

WEBHOOK_SECRET = "webhook-secret-for-tests"
REPOSITORY = "acme/payments-api"


@pytest.fixture(scope="session")
def github_server() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    fake.start(free_port())
    yield fake
    fake.stop()


@pytest.fixture
def github(github_server: FakeGitHub, settings: Any) -> Iterator[FakeGitHub]:
    """The fake GitHub with fresh state, and the platform pointed at it."""
    fake = github_server
    with fake.lock:
        fake.repos.clear()
        fake.users.clear()
        fake.requests.clear()
        fake.failures.clear()
    settings.GITHUB_API_URL = fake.url
    settings.GITHUB_TOKEN = "ghp_test_token"
    settings.GITHUB_APP_ID = ""
    settings.GITHUB_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.IDP_GITHUB_WRITE_PACING = 0
    fake.add_repo(REPOSITORY)
    fake.add_user("payments-lead")
    fake.add_user("sre-oncall")
    yield fake
    fake.clear_failures()


@pytest.fixture
def environments(db: None) -> dict[str, Environment]:
    specs = [
        ("dev", 10, False, "eu-west-1"),
        ("staging", 20, False, "eu-west-1"),
        ("prod", 30, True, "eu-central-1"),
    ]
    envs = {}
    for slug, order, prod, region in specs:
        envs[slug], _ = Environment.objects.update_or_create(
            slug=slug,
            defaults={
                "name": slug.title(),
                "order": order,
                "is_production": prod,
                "requires_approval": prod,
                "aws_region": region,
            },
        )
    return envs


@pytest.fixture
def make_service(db: None) -> Callable[..., Service]:
    def make(
        team: Team, slug: str, repository_url: str = f"https://github.com/{REPOSITORY}"
    ) -> Service:
        return Service.objects.create(
            team=team, slug=slug, name=slug.replace("-", " ").title(), repository_url=repository_url
        )

    return make


@pytest.fixture
def payments_service(
    teams: dict[str, Team],
    make_service: Callable[..., Service],
    environments: dict[str, Environment],
) -> Service:
    return make_service(teams["payments"], "payments-api")


@pytest.fixture
def search_service(
    teams: dict[str, Team],
    make_service: Callable[..., Service],
    environments: dict[str, Environment],
) -> Service:
    return make_service(teams["search"], "search-api", "https://github.com/acme/search-api")


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def send_webhook(client: Any) -> Callable[..., Any]:
    """POST a GitHub event with a real X-Hub-Signature-256 (or a given/missing one)."""

    def send(
        event: str,
        payload: dict[str, Any],
        *,
        delivery: str | None = None,
        signature: str | None = "auto",
    ) -> Any:
        body = json.dumps(payload).encode()
        headers = {
            "HTTP_X_GITHUB_EVENT": event,
            "HTTP_X_GITHUB_DELIVERY": delivery or str(uuid.uuid4()),
            "HTTP_USER_AGENT": "GitHub-Hookshot/abc123",
        }
        if signature == "auto":
            headers["HTTP_X_HUB_SIGNATURE_256"] = sign(body)
        elif signature is not None:
            headers["HTTP_X_HUB_SIGNATURE_256"] = signature
        return client.post(
            "/webhooks/github/", data=body, content_type="application/json", **headers
        )

    return send


def workflow_run_payload(
    pipeline: Any,
    *,
    action: str = "completed",
    status: str = "completed",
    conclusion: str | None = "success",
    run_id: int = 30433642,
    event: str = "push",
    head_branch: str = "main",
    repository: str = REPOSITORY,
) -> dict[str, Any]:
    """A `workflow_run` webhook payload in GitHub's documented shape (trimmed of unused keys)."""
    owner, name = repository.split("/")
    return {
        "action": action,
        "workflow_run": {
            "id": run_id,
            "name": pipeline.workflow_name,
            "node_id": "MDEyOldvcmtmbG93IFJ1bjI2OTI4OQ==",
            "head_branch": head_branch,
            "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d",
            "path": pipeline.workflow_path,
            "display_title": "Merge pull request #1",
            "run_number": 7,
            "event": event,
            "status": status,
            "conclusion": conclusion,
            "workflow_id": 159038,
            "check_suite_id": 414944374,
            "url": f"https://api.github.com/repos/{repository}/actions/runs/{run_id}",
            "html_url": f"https://github.com/{repository}/actions/runs/{run_id}",
            "pull_requests": [],
            "created_at": "2026-01-05T10:00:00Z",
            "updated_at": "2026-01-05T10:03:20Z",
            "run_attempt": 1,
            "run_started_at": "2026-01-05T10:00:00Z",
            "actor": {"login": "alice-gh", "id": 21031067, "type": "User"},
            "triggering_actor": {"login": "alice-gh", "id": 21031067, "type": "User"},
            "head_commit": {
                "id": "acb5820ced9479c074f688cc328bf03f341a511d",
                "message": "Merge pull request #1",
            },
            "repository": {"id": 186853002, "name": name, "full_name": repository},
        },
        "workflow": {"id": 159038, "name": pipeline.workflow_name, "path": pipeline.workflow_path},
        "repository": {
            "id": 186853002,
            "name": name,
            "full_name": repository,
            "owner": {"login": owner, "id": 1},
            "private": True,
        },
        "sender": {"login": "alice-gh", "id": 21031067, "type": "User"},
    }


def workflow_job_payload(
    pipeline: Any,
    job_name: str,
    *,
    run_id: int = 30433642,
    status: str = "completed",
    conclusion: str | None = "success",
    repository: str = REPOSITORY,
) -> dict[str, Any]:
    owner, name = repository.split("/")
    return {
        "action": "completed" if status == "completed" else "in_progress",
        "workflow_job": {
            "id": 2832853555,
            "run_id": run_id,
            "workflow_name": pipeline.workflow_name,
            "head_branch": "main",
            "run_url": f"https://api.github.com/repos/{repository}/actions/runs/{run_id}",
            "run_attempt": 1,
            "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d",
            "html_url": f"https://github.com/{repository}/actions/runs/{run_id}/job/2832853555",
            "status": status,
            "conclusion": conclusion,
            "created_at": "2026-01-05T10:01:00Z",
            "started_at": "2026-01-05T10:01:05Z",
            "completed_at": "2026-01-05T10:02:10Z" if status == "completed" else None,
            "name": job_name,
            "steps": [],
            "labels": ["ubuntu-latest"],
            "runner_name": "GitHub Actions 2",
        },
        "repository": {
            "id": 186853002,
            "name": name,
            "full_name": repository,
            "owner": {"login": owner, "id": 1},
        },
        "sender": {"login": "alice-gh", "id": 21031067},
    }
