"""The approvals badge, on every portal page, is kept in the shared cache and recounted when
what awaits a decision changes: a resource moving into or out of approval, an approval written
or deleted, a membership change. Without a shared cache it is counted on every page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from idp import services
from idp.choices import Role
from provisioning import lifecycle
from provisioning.actions import inbox
from provisioning.choices import ApprovalDecision, ResourceEvent, ResourceStatus
from provisioning.models import Approval

NEEDS_TWO = {"approvals": 2, "platform_admin": False, "reasons": ["prod requires 2 approvals"]}


@pytest.fixture
def waiting(make_resource, make_run, envs, teams, alice) -> Any:
    """Makes a plan of alice's awaiting a decision in payments' prod; returns the resource."""

    def make(name: str, status: str = ResourceStatus.AWAITING_APPROVAL) -> Any:
        resource = make_resource(
            teams["payments"], name, environment=envs["prod"], status=status, requested_by=alice
        )
        make_run(
            resource,
            created_by=alice,
            plan_hash="a" * 64,
            finished_at=timezone.now() - timedelta(minutes=1),
            approval_requirement=NEEDS_TWO,
            plan_summary={"add": 1, "change": 0, "destroy": 0},
        )
        return resource

    return make


def _count(user: Any) -> tuple[int, int]:
    """The badge and the queries it took."""
    fresh = type(user).objects.get(pk=user.pk)  # as the next request loads the user
    with CaptureQueriesContext(connection) as ctx:
        count = inbox.badge_count(fresh)
    return count, len([q for q in ctx.captured_queries if "provisioning_run" in q["sql"]])


def test_the_badge_is_kept_until_what_it_counts_changes(
    shared_cache, waiting, bob, carol, teams, django_capture_on_commit_callbacks
) -> None:
    waiting("first")
    assert _count(bob) == (1, 1)
    assert _count(bob) == (1, 0)  # kept: no query of the plans

    # A plan finishing: its resource moves into approval, and every badge is recounted.
    planning = waiting("second", status=ResourceStatus.PLANNING)
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.transition(
            planning, ResourceStatus.AWAITING_APPROVAL, ResourceEvent.PLAN_AWAITS_APPROVAL
        )
    assert _count(bob) == (2, 1)

    # An approval given (the plan needs two): bob's badge drops the plan he approved.
    plan = planning.runs.get()
    with django_capture_on_commit_callbacks(execute=True):
        Approval.objects.create(
            resource=planning,
            run=plan,
            decided_by=bob,
            decision=ApprovalDecision.APPROVED,
            plan_hash=plan.plan_hash,
        )
    assert _count(bob) == (1, 1)

    # A membership change: carol, made a maintainer of payments, counts both plans.
    assert _count(carol)[0] == 0  # a member of search only
    with django_capture_on_commit_callbacks(execute=True):
        services.set_membership(teams["payments"], carol, Role.MAINTAINER)
    assert _count(carol) == (2, 1)


def test_without_a_shared_cache_the_badge_is_counted_on_every_page(waiting, bob) -> None:
    waiting("first")
    assert _count(bob) == (1, 1)
    assert _count(bob) == (1, 1)
