"""Held upgrade plans (provisioning's `upgrade(hold=True)` and `holds`), with real Terraform
run in this process: a held plan waits; released, it applies (no approval needed) or goes to
the approvals inbox; discarded, the resource stays as it was; an expired one is re-planned."""

# ruff: noqa: F811 - the engine tests' fixtures are imported by name

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from idp.conf import setting
from idp.models import Role
from idp.services import Conflict
from provisioning import actions
from provisioning.actions import holds, inbox
from provisioning.actions.results import PlanPurpose
from provisioning.choices import PlanHold, ResourceStatus, RunKind, RunStatus
from provisioning.models import Run
from tests.provisioning.engine.conftest import envs, run_queued, state  # noqa: F401

from .conftest import register

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.django_db]


def provisioned(actor, team, env, name="held"):
    resource = actions.request_resource(
        actor=actor,
        template="fleet-echo",
        version=None,
        team=team,
        environment=env,
        name=name,
        parameters={"message": "hello"},
    ).resource
    run_queued(resource)
    return resource


def test_a_held_plan_waits_then_applies_when_released(alice, bob, teams, envs, state, client_as):  # noqa: F811
    v1 = register("v1")
    resource = provisioned(alice, teams["payments"], "dev")
    assert resource.status == ResourceStatus.PROVISIONED
    v2 = register("v2")
    plan = actions.upgrade(resource, v2.number, actor=bob, hold=True).run
    run_queued(resource)
    plan.refresh_from_db()
    assert plan.status == RunStatus.SUCCEEDED and plan.hold == PlanHold.HELD
    assert resource.status == ResourceStatus.PLANNING  # nothing else may start meanwhile
    assert holds.held_plan(resource).pk == plan.pk
    assert not resource.runs.filter(kind=RunKind.APPLY, plan_run=plan).exists()
    with pytest.raises(Conflict):
        actions.replan(resource, actor=bob)
    # The resource page says why it stays `planning`.
    page = client_as(alice).get(resource.get_absolute_url()).content.decode()
    assert 'id="held-plan"' in page and "held by a fleet upgrade" in page
    released = holds.release_held_plan(resource, actor=bob)
    apply = released.apply_run
    assert apply is not None and released.run == apply and not released.awaits_approval
    assert apply.kind == RunKind.APPLY and apply.plan_run_id == plan.pk
    assert released.plan.pk == plan.pk and released.status == ResourceStatus.APPLYING
    assert released.message == (
        f"The held plan of {resource.name} was released; the apply is queued."
    )
    run_queued(resource)
    assert resource.status == ResourceStatus.PROVISIONED
    assert resource.template_version_id == v2.pk != v1.pk
    assert (
        'id="held-plan"' not in client_as(alice).get(resource.get_absolute_url()).content.decode()
    )
    with pytest.raises(Conflict):
        holds.release_held_plan(resource, actor=bob)


def test_released_where_approval_is_needed_it_waits_in_the_inbox(
    alice,
    bob,
    make_user,
    teams,
    envs,
    state,  # noqa: F811
):
    register("v1")
    resource = provisioned(alice, teams["payments"], "prod")
    actions.approve(resource, actor=bob)
    run_queued(resource)
    v2 = register("v2")
    plan = actions.upgrade(resource, v2.number, actor=bob, hold=True).run
    run_queued(resource)
    erin = make_user("erin", team=teams["payments"], role=Role.MAINTAINER)
    assert resource.status == ResourceStatus.PLANNING
    assert not inbox.inbox_items(erin)  # held: not for approvers yet
    released = holds.release_held_plan(resource, actor=bob)
    assert released.run.pk == plan.pk and released.apply_run is None and released.awaits_approval
    assert released.status == ResourceStatus.AWAITING_APPROVAL
    assert released.message == f"The held plan of {resource.name} was released; it awaits approval."
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.AWAITING_APPROVAL
    assert [i.plan_run for i in inbox.inbox_items(erin)] == [plan.pk]
    actions.approve(resource, actor=erin)
    run_queued(resource)
    assert resource.template_version_id == v2.pk


def test_a_discarded_held_plan_leaves_the_resource_as_it_was(alice, bob, teams, envs, state):  # noqa: F811
    v1 = register("v1")
    resource = provisioned(alice, teams["payments"], "dev")
    v2 = register("v2")
    plan = actions.upgrade(resource, v2.number, actor=bob, hold=True).run
    run_queued(resource)
    discarded = holds.discard_held_plan(resource, actor=bob, reason="changed my mind")
    assert discarded.plan.pk == plan.pk and discarded.status == ResourceStatus.PROVISIONED
    assert discarded.message == (
        f"The held plan of {resource.name} was discarded; nothing was applied."
    )
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.PROVISIONED
    assert resource.template_version_id == v1.pk
    assert holds.held_plan(resource) is None
    # The proposal is gone: a new upgrade starts from what is applied.
    started = actions.upgrade(resource, v2.number, actor=bob)
    assert started.run.kind == RunKind.PLAN and started.purpose == PlanPurpose.UPGRADE
    assert started.status == ResourceStatus.PLANNING
    assert started.message == f"Planning the upgrade of {resource.name} to v{v2.number}."


def test_a_plan_held_past_its_approval_window_is_planned_again(
    alice,
    bob,
    teams,
    envs,
    state,
):
    register("v1")
    resource = provisioned(alice, teams["payments"], "prod")
    actions.approve(resource, actor=bob)
    run_queued(resource)
    v2 = register("v2")
    plan = actions.upgrade(resource, v2.number, actor=bob, hold=True).run
    run_queued(resource)
    Run.objects.filter(pk=plan.pk).update(
        finished_at=timezone.now() - timedelta(hours=setting("IDP_APPROVAL_TTL_HOURS") + 1)
    )
    released = holds.release_held_plan(resource, actor=bob)
    again = released.replanned
    assert again is not None and released.run == again and released.apply_run is None
    assert released.status == ResourceStatus.PLANNING
    assert released.message == (
        f"The held plan of {resource.name} expired while held; {resource.name} is planned again."
    )
    assert again.kind == RunKind.PLAN and again.pk > plan.pk
    assert again.hold == PlanHold.NONE
    run_queued(resource)
    assert resource.status == ResourceStatus.AWAITING_APPROVAL
    assert again.template_version_id == v2.pk
