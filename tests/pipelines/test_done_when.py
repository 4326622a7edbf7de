"""The issue's done-when scenario, end to end through the portal, a real Celery worker, the
GitHub-shaped server and a signed webhook.

The issue lets maintainers create and deliver, and its scenario has Alice do both; so Alice
(a payments member in the shared fixtures) is made a payments maintainer here first.
"""

from __future__ import annotations

from typing import Any

import pytest

from idp import services as idp_services
from idp.choices import Role
from pipelines.choices import DeliveryState
from pipelines.models import Pipeline
from tests.helpers import wait_for as _wait_for

from .conftest import REPOSITORY, workflow_run_payload


@pytest.mark.slow
@pytest.mark.integration
def test_alice_creates_delivers_and_sees_her_dev_run_succeed(
    celery_worker: Any,
    github: Any,
    alice: Any,
    teams: Any,
    payments_service: Any,
    client_as: Any,
    send_webhook: Any,
) -> None:
    idp_services.set_membership(teams["payments"], alice, Role.MAINTAINER)
    client = client_as(alice)
    form = {
        "service": payments_service.slug,
        "template": "python",
        "environments": ["dev", "staging", "prod"],
        "opt_reviewers": "payments-lead",
    }

    # The preview passes both checks.
    preview = client.post("/pipelines/preview/", form).content.decode()
    assert (
        "badge success" in preview
        and "GitHub workflow schema and actionlint found nothing" in preview
    )

    # Create and deliver: the worker opens the pull request on the GitHub-shaped server.
    created = client.post(
        f"/pipelines/new/?service={payments_service.slug}", {**form, "deliver": "1"}
    )
    assert created.status_code == 302, created.content[:500]
    pipeline = Pipeline.objects.get(service=payments_service)
    _wait_for(
        lambda: (
            Pipeline.objects.get(pk=pipeline.pk).delivery_state
            in (DeliveryState.DELIVERED, DeliveryState.FAILED)
        ),
        "delivery",
    )
    pipeline.refresh_from_db()
    assert pipeline.delivery_state == DeliveryState.DELIVERED, pipeline.last_error
    assert github.file(REPOSITORY, pipeline.branch, pipeline.workflow_path) == pipeline.yaml
    assert len(github.repos[REPOSITORY].pulls) == 1

    page = client.get(f"/pipelines/{pipeline.pk}/").content.decode()
    assert f'href="{pipeline.pr_url}"' in page and f"#{pipeline.pr_number}" in page

    # GitHub reports the run on main: in progress, then success; dev shows success.
    send_webhook(
        "workflow_run",
        workflow_run_payload(pipeline, action="in_progress", status="in_progress", conclusion=None),
    )
    runs = client.get(f"/pipelines/{pipeline.pk}/runs/").content.decode()
    dev = runs.split('id="env-dev"', 1)[1].split("</div>", 1)[0]
    assert "in_progress" in dev and 'hx-trigger="every 5s"' in runs
    send_webhook("workflow_run", workflow_run_payload(pipeline))
    page = client.get(f"/pipelines/{pipeline.pk}/").content.decode()
    dev = page.split('id="env-dev"', 1)[1].split("</div>", 1)[0]
    assert 'class="badge success"' in dev
