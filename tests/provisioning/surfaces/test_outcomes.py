"""What an action did, as its typed outcome says it (`provisioning.actions.results`): the
fields through the action, and the outcome's message as is through one surface each."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from provisioning import actions
from provisioning.actions.results import PlanPurpose
from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.models import ResourceLock, Run

NO_APPROVAL = {"approvals": 0, "platform_admin": False, "reasons": []}
NEEDS_ONE = {"approvals": 1, "platform_admin": False, "reasons": ["prod requires 1 approval"]}
OVERRIDABLE = {
    "passed": 0,
    "warnings": 0,
    "failures": 1,
    "blocking": 1,
    "overridable": True,
    "results": [
        {
            "policy": "example_replicas",
            "level": "failure",
            "enforcement": "mandatory-overridable",
            "message": "too many replicas",
            "address": "terraform_data.config",
        }
    ],
    "digest": "d" * 64,
}


def flashed(response: Any) -> list[str]:
    """The messages the page after a redirect shows."""
    return [str(m) for m in response.context["messages"]]


def cancel_queued(resource: Any, alice: Any) -> None:
    """Cancel the plan an action just queued, so the resource is idle for the next one."""
    run = resource.runs.order_by("-pk").first()
    actions.cancel_run(run, actor=alice)


def test_each_plan_an_action_queues_is_its_outcome(alice, bob, teams, make_resource):
    resource = make_resource(teams["payments"], "cfg", provisioned_at=timezone.now())
    started = actions.replan(resource, actor=alice)
    assert started.purpose == PlanPurpose.REPLAN and started.resource.pk == resource.pk
    assert started.run.kind == RunKind.PLAN and started.run.status == RunStatus.QUEUED
    assert started.status == ResourceStatus.PLANNING
    assert started.message == "A new plan of cfg is queued."
    cancel_queued(resource, alice)

    started = actions.change_parameters(resource, {"message": "new"}, actor=alice)
    assert started.purpose == PlanPurpose.CHANGE and started.status == ResourceStatus.PLANNING
    assert started.run.parameters["message"] == "new"
    assert started.message == "Parameters of cfg changed; a new plan is queued."
    cancel_queued(resource, alice)

    started = actions.request_destroy(resource, actor=bob)  # a maintainer
    assert started.purpose == PlanPurpose.DESTROY and started.run.is_destroy
    assert started.status == ResourceStatus.DESTROYING
    assert started.message == "A destroy plan of cfg is queued."


@pytest.mark.parametrize(
    ("path", "purpose", "message"),
    [
        ("plan", PlanPurpose.REPLAN, "A new plan of cfg is queued."),
        ("destroy", PlanPurpose.DESTROY, "A destroy plan of cfg is queued."),
        (
            "reconcile",
            PlanPurpose.RECONCILE,
            "A plan of cfg back to its declared configuration is queued; "
            "it is applied like any change.",
        ),
        (
            "accept-drift",
            PlanPurpose.ACCEPT_DRIFT,
            "A refresh-only plan of cfg is queued: once applied, the real values are the record.",
        ),
    ],
)
def test_the_portal_shows_the_resource_and_message_of_the_outcome(
    client_as, bob, teams, make_resource, path, purpose, message
):
    resource = make_resource(teams["payments"], "cfg", provisioned_at=timezone.now(), drifted=True)
    response = client_as(bob).post(f"/resources/{resource.pk}/{path}/", follow=True)
    run = Run.objects.get(resource=resource)
    # The resource's page, which shows the plan and then the apply that follows it.
    assert response.redirect_chain[-1][0] == resource.get_absolute_url()
    assert run.get_absolute_url() in response.content.decode()
    assert flashed(response) == [message]
    assert run.refresh_only == (purpose == PlanPurpose.ACCEPT_DRIFT)


def test_the_api_answers_the_queued_plan_as_before(api_as, alice, teams, make_resource):
    resource = make_resource(teams["payments"], "cfg", provisioned_at=timezone.now())
    response = api_as(alice).post(f"/api/v1/resources/{resource.pk}/plan/")
    assert response.status_code == 202
    run = Run.objects.get(resource=resource)
    assert response.json()["id"] == run.pk and response.json()["status"] == "queued"


def test_a_cancelled_run_says_whether_it_stopped_at_once(
    client_as, alice, teams, make_resource, make_run
):
    resource = make_resource(teams["payments"], "cfg", provisioned_at=timezone.now())
    queued = actions.replan(resource, actor=alice).run
    stopped = actions.cancel_run(queued, actor=alice)
    assert stopped.stopped and stopped.status == RunStatus.CANCELLED
    assert stopped.run.pk == queued.pk and stopped.resource.status == ResourceStatus.PROVISIONED
    assert stopped.message == f"The queued plan run {queued.pk} of cfg was cancelled."

    busy = make_resource(teams["payments"], "busy", status=ResourceStatus.APPLYING)
    running = make_run(busy, kind=RunKind.APPLY, status=RunStatus.RUNNING)
    stopped = actions.cancel_run(running, actor=alice)
    assert not stopped.stopped and stopped.status == RunStatus.RUNNING
    assert stopped.run.cancel_requested
    message = (
        f"Cancellation requested: the apply run {running.pk} of busy stops at its next safe point."
    )
    assert stopped.message == message
    # The portal shows it as is (a second cancel is refused: one was requested already).
    running2 = make_run(busy, kind=RunKind.APPLY, status=RunStatus.RUNNING)
    response = client_as(alice).post(f"/resources/runs/{running2.pk}/cancel/", follow=True)
    assert flashed(response) == [message.replace(str(running.pk), str(running2.pk))]


def test_a_withdrawn_change_says_what_the_resource_is_now(
    client_as, alice, envs, teams, make_resource, make_run
):
    first = make_resource(
        teams["payments"],
        "first",
        environment=envs["prod"],
        status=ResourceStatus.AWAITING_APPROVAL,
        requested_by=alice,
    )
    make_run(first, created_by=alice, plan_hash="a" * 64, finished_at=timezone.now())
    withdrawn = actions.withdraw(first, actor=alice)
    assert withdrawn.status == ResourceStatus.REJECTED  # a first request that never was
    assert withdrawn.message == "The proposed change of first was withdrawn."

    change = make_resource(
        teams["payments"],
        "change",
        environment=envs["prod"],
        status=ResourceStatus.AWAITING_APPROVAL,
        provisioned_at=timezone.now(),
    )
    make_run(change, created_by=alice, plan_hash="b" * 64, finished_at=timezone.now())
    response = client_as(alice).post(f"/resources/{change.pk}/withdraw/", follow=True)
    assert flashed(response) == ["The proposed change of change was withdrawn."]
    change.refresh_from_db()
    assert change.status == ResourceStatus.PROVISIONED


def _held_by_policy(make_resource: Any, make_run: Any, team: Any, env: Any, **run: Any) -> Any:
    resource = make_resource(
        team, "big", environment=env, status=ResourceStatus.POLICY_FAILED, provisioned_at=None
    )
    plan = make_run(
        resource,
        plan_hash="a" * 64,
        plan_summary={"add": 1, "change": 0, "destroy": 0, "resources": []},
        policy_summary=OVERRIDABLE,
        finished_at=timezone.now(),
        **run,
    )
    return resource, plan


def test_an_override_says_whether_the_apply_is_queued(
    client_as, platform_admin, envs, teams, make_resource, make_run
):
    resource, plan = _held_by_policy(
        make_resource, make_run, teams["payments"], envs["dev"], approval_requirement=NO_APPROVAL
    )
    overridden = actions.override_policy(resource, actor=platform_admin, reason="load test")
    assert overridden.plan.pk == plan.pk and overridden.queued
    assert overridden.apply_run is not None and overridden.apply_run.kind == RunKind.APPLY
    assert overridden.apply_run.plan_run_id == plan.pk
    assert overridden.status == ResourceStatus.APPLYING
    assert overridden.message == "Policy failure of big overridden; the apply is queued."

    waiting, _ = _held_by_policy(
        make_resource, make_run, teams["payments"], envs["prod"], approval_requirement=NEEDS_ONE
    )
    response = client_as(platform_admin).post(
        f"/resources/{waiting.pk}/override-policy/", {"reason": "load test"}, follow=True
    )
    assert flashed(response) == [
        "Policy failure of big overridden; the plan now awaits its approvals."
    ]


def test_an_unlock_says_what_it_removed(aws, platform_admin, teams, make_resource, make_run):
    resource = make_resource(teams["payments"], "stuck", status=ResourceStatus.APPLYING)
    run = make_run(resource, kind=RunKind.APPLY, status=RunStatus.RUNNING)  # no heartbeat
    ResourceLock.objects.create(resource=resource, run=run)
    unlocked = actions.unlock(resource, actor=platform_admin)
    assert unlocked.platform_lock and not unlocked.state_lock
    assert unlocked.ended_run is not None and unlocked.ended_run.pk == run.pk
    assert unlocked.removed == {"platform_lock": True, "ended_run": run.pk, "state_lock": False}
    assert unlocked.message == (
        f"Unlocked {resource}: removed the platform's run lock, run {run.pk} (ended as failed)."
    )
    # `manage.py unlock` prints the outcome as is.
    out = StringIO()
    call_command("unlock", str(resource.pk), stdout=out)
    assert out.getvalue().strip() == f"{resource} was not locked; nothing was removed."


def test_archive_and_unarchive_say_what_they_did(alice, teams, make_resource):
    failed = make_resource(teams["payments"], "broken", status=ResourceStatus.FAILED)
    archived = actions.archive(failed, actor=alice)
    assert archived.resource.pk == failed.pk and archived.resource.archived_at is not None
    assert archived.message == (
        "broken is archived: it is hidden from the lists (Show archived finds it)."
    )
    unarchived = actions.unarchive(failed, actor=alice)
    assert unarchived.resource.archived_at is None
    assert unarchived.resource.status == ResourceStatus.FAILED  # it keeps its status
    assert unarchived.message == "broken is back in the lists."
