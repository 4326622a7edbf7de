"""A demo pipeline and its run history, delivered the way GitHub delivers runs: signed
`workflow_run` webhooks posted to the portal's `/webhooks/github/`."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from catalog.models import Service
from idp.github_client import parse_repository
from pipelines import services as pipeline_services
from pipelines.models import Pipeline

SERVICE = "payments-api"
SLUG = "ci"
TEMPLATE = "python"
ENVIRONMENTS = ["dev", "staging", "prod"]
# (days ago, event, branch, conclusion, minutes it took): a week of a team's runs.
HISTORY = [
    (6, "push", "main", "success", 7),
    (5, "pull_request", "retry-payouts", "success", 4),
    (4, "push", "main", "failure", 3),
    (4, "push", "main", "success", 8),
    (2, "pull_request", "ledger-export", "failure", 5),
    (1, "push", "main", "success", 7),
    (0, "push", "main", "success", 6),
]
FIRST_RUN_ID = 7_100_000_001


def ensure_pipeline(actor_username: str = "bob") -> Pipeline:
    """The payments API's pipeline, made by its maintainer through the pipelines service."""
    service = Service.objects.select_related("team").get(slug=SERVICE)
    existing = Pipeline.objects.filter(service=service, slug=SLUG).first()
    if existing is not None:
        return existing
    actor = get_user_model().objects.get(username=actor_username)
    return pipeline_services.create_pipeline(
        service,
        template=TEMPLATE,
        environments=ENVIRONMENTS,
        options={"reviewers": ["payments-leads"]},
        slug=SLUG,
        actor=actor,
        deliver=False,  # GitHub is not configured under `make run`
    )


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def workflow_run_events(pipeline: Pipeline, now: datetime | None = None) -> list[dict[str, Any]]:
    """The `workflow_run` payloads GitHub would send for the history: requested, then
    completed, for every run, oldest first."""
    now = (now or timezone.now()).replace(microsecond=0)
    repository = parse_repository(pipeline.service.repository_url)
    events = []
    for number, (days_ago, event, branch, conclusion, minutes) in enumerate(HISTORY, start=1):
        started = now - timedelta(days=days_ago, hours=3 - number % 3, minutes=number * 7)
        run_id = FIRST_RUN_ID + number
        sha = hashlib.sha1(f"{repository}#{number}".encode(), usedforsecurity=False).hexdigest()
        run = {
            "id": run_id,
            "name": pipeline.workflow_name,
            "path": pipeline.workflow_path,
            "run_number": number,
            "run_attempt": 1,
            "event": event,
            "head_branch": branch,
            "head_sha": sha,
            "html_url": f"https://github.com/{repository}/actions/runs/{run_id}",
            "actor": {"login": "alice-dev" if event == "pull_request" else "bob-dev"},
            "created_at": _iso(started),
            "run_started_at": _iso(started),
        }
        events.append(
            {
                "action": "requested",
                "repository": {"full_name": repository},
                "workflow_run": {
                    **run,
                    "status": "queued",
                    "conclusion": None,
                    "updated_at": _iso(started),
                },
            }
        )
        events.append(
            {
                "action": "completed",
                "repository": {"full_name": repository},
                "workflow_run": {
                    **run,
                    "status": "completed",
                    "conclusion": conclusion,
                    "updated_at": _iso(started + timedelta(minutes=minutes)),
                },
            }
        )
    return events


def deliver(portal_url: str, event: str, delivery: str, payload: dict[str, Any]) -> int:
    """POST one webhook, signed with the platform's webhook secret; returns the HTTP status."""
    secret = settings.GITHUB_WEBHOOK_SECRET
    if not secret:
        raise RuntimeError("GITHUB_WEBHOOK_SECRET is not set, so the portal refuses webhooks")
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(  # noqa: S310 - the portal started by make run
        portal_url.rstrip("/") + reverse("webhooks:github"),
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": signature,
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def deliver_history(pipeline: Pipeline, portal_url: str) -> int:
    """Send the run history as webhooks; returns how many the portal accepted. The delivery
    ids are fixed, so sending again is acknowledged as a duplicate and changes nothing."""
    accepted = 0
    for payload in workflow_run_events(pipeline):
        run = payload["workflow_run"]
        delivery = f"idp-demo-{run['id']}-{payload['action']}"
        status = deliver(portal_url, "workflow_run", delivery, payload)
        if status != 200:
            raise RuntimeError(f"the portal answered HTTP {status} to webhook {delivery}")
        accepted += 1
    return accepted
