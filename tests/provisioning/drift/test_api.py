"""Reconcile and accept drift through the HTTP API in a production-like environment: both go
through approval, whoever starts one never approves it, acceptance is audited; another
team's resource answers 404, a viewer 403, a resource without drift 409."""

from __future__ import annotations

import pytest

from idp.choices import Role
from idp.models import AuditEvent
from provisioning.choices import ResourceStatus, RunKind

from ..engine.conftest import request_module
from .conftest import change_behind_the_back, check_drift

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def url(resource, action: str) -> str:
    return f"/api/v1/resources/{resource.pk}/{action}/"


@pytest.mark.django_db
def test_reconcile_and_accept_in_prod_through_approval(
    alice, bob, carol, make_user, teams, envs, echo, state, drive, api_as
) -> None:
    dave = make_user("dave", team=teams["payments"], role=Role.MAINTAINER)
    vera = make_user("vera", team=teams["payments"], role=Role.VIEWER)
    resource = request_module(alice, teams["payments"], env="prod", message="as requested")
    drive(resource)
    assert resource.status == ResourceStatus.AWAITING_APPROVAL
    assert api_as(bob).post(url(resource, "approve"), {"reason": "ok"}).status_code == 200
    drive(resource)
    assert resource.status == ResourceStatus.PROVISIONED

    # Nothing drifted yet: nothing to fix.
    answer = api_as(alice).post(url(resource, "reconcile"))
    assert answer.status_code == 409 and "No drift" in answer.json()["detail"]

    change_behind_the_back(state, resource, "changed by hand")
    check_drift(resource)
    assert resource.drifted
    detail = api_as(alice).get(f"/api/v1/resources/{resource.pk}/").json()
    assert {"reconcile", "accept_drift"} <= set(detail["allowed_actions"])
    assert detail["drift_details"]["changes"][0]["actual"] == "changed by hand"

    # Another team's resource does not exist for carol; a viewer may look, not act.
    assert api_as(carol).post(url(resource, "reconcile")).status_code == 404
    assert api_as(carol).post(url(resource, "accept-drift")).status_code == 404
    assert api_as(vera).post(url(resource, "reconcile")).status_code == 403
    assert api_as(vera).post(url(resource, "accept-drift")).status_code == 403
    viewer_sees = api_as(vera).get(f"/api/v1/resources/{resource.pk}/").json()
    assert "reconcile" not in viewer_sees["allowed_actions"]

    # Bob reconciles: a normal plan back to "as requested", waiting for approval in prod.
    answer = api_as(bob).post(url(resource, "reconcile"))
    assert answer.status_code == 202, answer.json()
    assert answer.json()["kind"] == RunKind.PLAN and answer.json()["created_by"] == "bob"
    assert answer.json()["refresh_only"] is False
    (plan,) = drive(resource)
    assert plan.plan_summary["change"] == 1 and not plan.refresh_only
    assert resource.status == ResourceStatus.AWAITING_APPROVAL
    # Four eyes: who started the reconcile touched the change.
    refused = api_as(bob).post(url(resource, "approve"), {"reason": "mine"})
    assert refused.status_code == 403 and "four eyes" in refused.json()["detail"]
    assert api_as(dave).post(url(resource, "approve"), {"reason": "ok"}).status_code == 200
    drive(resource)
    assert resource.status == ResourceStatus.PROVISIONED
    assert not resource.drifted and resource.outputs["echo"] == "as requested"
    assert resource.drift_digest == ""
    requested = AuditEvent.objects.get(action="resource.drift_reconcile_requested")
    assert requested.actor_name == "bob" and requested.details["outputs"] == ["echo"]

    # Drift again; this time alice accepts the real values: a refresh-only plan, approved.
    change_behind_the_back(state, resource, "meant to be")
    check_drift(resource)
    assert resource.drifted
    answer = api_as(alice).post(url(resource, "accept-drift"))
    assert answer.status_code == 202, answer.json()
    assert answer.json()["refresh_only"] is True and answer.json()["kind"] == RunKind.PLAN
    (plan,) = drive(resource)
    assert plan.refresh_only and resource.status == ResourceStatus.AWAITING_APPROVAL
    assert api_as(alice).post(url(resource, "approve"), {}).status_code == 403
    assert api_as(bob).post(url(resource, "approve"), {"reason": "ok"}).status_code == 200
    (apply,) = drive(resource)
    assert apply.kind == RunKind.APPLY and apply.refresh_only
    assert resource.status == ResourceStatus.PROVISIONED
    assert not resource.drifted and resource.outputs["echo"] == "meant to be"
    # The configuration stays as declared; the state and outputs took the real values.
    assert resource.parameters == {"message": "as requested"}
    accepted = AuditEvent.objects.get(action="resource.drift_accepted")
    assert accepted.actor_name == "alice" and accepted.details["outputs"] == ["echo"]
    assert AuditEvent.objects.filter(
        action="resource.drift_accept_requested", actor_name="alice"
    ).exists()
    assert "in sync" in check_drift(resource)
