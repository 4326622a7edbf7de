"""In an environment with `auto_reconcile_drift` (sandbox, dev), a new drift found by the
periodic check is reconciled by the platform itself, on a real Celery worker; the team is
told that it is. Elsewhere drift waits for someone to choose."""

from __future__ import annotations

import pytest
from django.core import mail

from idp.models import AuditEvent
from provisioning import actions
from provisioning.choices import RUN_ACTIVE, ResourceStatus, RunKind, RunStatus
from provisioning.engine.dbretry import retry_locked
from provisioning.models import Resource
from tests.helpers import wait_for

from ..engine.conftest import request_module
from .conftest import change_behind_the_back

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def quiet(resource: Resource, status: str) -> bool:
    resource.refresh_from_db()
    return resource.status == status and not resource.runs.filter(status__in=RUN_ACTIVE).exists()


@pytest.mark.usefixtures("celery_worker")
def test_sandbox_reconciles_new_drift_by_itself(alice, teams, sandbox, echo, state) -> None:
    resource = request_module(alice, teams["payments"], env="sandbox", message="as requested")
    wait_for(lambda: quiet(resource, ResourceStatus.PROVISIONED), "the first apply")
    mail.outbox.clear()

    change_behind_the_back(state, resource, "changed by hand")
    retry_locked(actions.detect_drift)(Resource.objects.filter(pk=resource.pk))
    # The check finds the drift, queues the reconcile plan, and the worker applies it.
    wait_for(
        lambda: resource.runs.filter(kind=RunKind.APPLY, status=RunStatus.SUCCEEDED).count() == 2,
        "the reconcile apply",
    )
    wait_for(lambda: quiet(resource, ResourceStatus.PROVISIONED), "the reconciled resource")
    assert not resource.drifted and resource.outputs["echo"] == "as requested"
    drift_run = resource.runs.filter(kind=RunKind.DRIFT).get()
    plan = resource.runs.filter(kind=RunKind.PLAN, pk__gt=drift_run.pk).get()
    assert plan.created_by is None and not plan.refresh_only  # the platform's own plan
    # ... caused by the drift check, on behalf of whoever started it (the schedule: nobody).
    assert (plan.caused_by_id, plan.cause, plan.authors) == (drift_run.pk, "drift found", [])
    requested = AuditEvent.objects.get(action="resource.drift_reconcile_requested")
    assert requested.actor is None and requested.details["automatic"] is True
    notices = [m for m in mail.outbox if m.subject.startswith("[IDP] Drift found")]
    assert len(notices) == 1 and "reconciles drift automatically" in notices[0].body
