"""The resource page costs a fixed number of queries, for a member of three teams and for a
platform admin, however many runs, approvals and dependencies the resource has: runs,
approvals and dependencies are read once each and every panel takes them from there."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from idp import services
from idp.choices import Role
from provisioning.choices import ApprovalDecision, ResourceStatus, RunKind, RunStatus
from provisioning.models import Approval, Resource, ResourceDependency
from tests.helpers import assert_queries

# The limit for the resource page (benchmarks/pages.py pins the same).
PAGE_LIMIT = 12
NEEDS_ONE = {"approvals": 1, "platform_admin": False, "reasons": ["prod requires 1 approval"]}
DRIFT = {
    "run": None,
    "changes": [
        {"address": "terraform_data.this", "attribute": "input", "expected": 1, "actual": 2}
    ],
    "change_count": 1,
}


@pytest.fixture
def member(make_user, make_team, teams) -> Any:
    """A maintainer of three teams, as the benchmark's member."""
    user = make_user("lead")
    teams["web"] = make_team("web")
    for team in teams.values():
        services.set_membership(team, user, Role.MAINTAINER)
    return user


@pytest.fixture
def people(member, platform_admin) -> dict[str, Any]:
    return {"member": member, "platform admin": platform_admin}


def _grow(make_resource, make_run, resource: Resource, size: int, by: Any) -> None:
    """Give the resource `size` runs (a few of each kind), `size` approvals and about
    `size // 3` dependencies each way, every run so far applied (no change pending)."""
    kinds = [RunKind.APPLY, RunKind.DRIFT, RunKind.PLAN]
    have = resource.runs.count()
    for i in range(have, size):
        run = make_run(
            resource,
            kind=kinds[i % 3],
            created_by=by,
            started_at=timezone.now(),
            finished_at=timezone.now(),
            plan_hash="a" * 64,
        )
        Approval.objects.create(
            resource=resource,
            run=run,
            decided_by=by,
            decision=ApprovalDecision.APPROVED,
            plan_hash="0" * 64,
            break_glass=i == 0,
        )
    # Everything so far was applied: no proposed change is pending.
    last = resource.runs.order_by("-pk").values_list("pk", flat=True).first() or 0
    Resource.objects.filter(pk=resource.pk).update(proposal_after_run=last)
    links = max(1, size // 3)
    have = ResourceDependency.objects.filter(dependant=resource).count()
    for i in range(have, links):
        upstream = make_resource(resource.team, f"up-{i}", outputs={"message": f"m{i}"})
        dependant = make_resource(resource.team, f"down-{i}")
        ResourceDependency.objects.create(
            dependant=resource, upstream=upstream, parameter=f"p{i}", output="message"
        )
        ResourceDependency.objects.create(
            dependant=dependant, upstream=resource, parameter="message", output="message"
        )


def _count(client: Any, url: str, limit: int) -> tuple[int, bytes]:
    client.get(url)  # grants and session warm, as on every page after the first
    with assert_queries(at_most=limit) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries), response.content


@pytest.mark.parametrize("who", ["member", "platform admin"])
def test_provisioned_resource_page_at_1_and_30_runs(
    who, people, make_resource, make_run, envs, teams, alice, client_as
) -> None:
    resource = make_resource(
        teams["payments"],
        "db",
        outputs={"message": "hello"},
        sensitive_output_names=["secret_token"],
        drifted=True,
        drift_checked_at=timezone.now(),
        drift_details=DRIFT,
        provisioned_at=timezone.now(),
        requested_by=alice,
    )
    client = client_as(people[who])
    url = f"/resources/{resource.pk}/"
    counts = []
    for size in (1, 30):
        _grow(make_resource, make_run, resource, size, alice)
        n, html = _count(client, url, PAGE_LIMIT)
        counts.append(n)
        assert html.count(b'href="/resources/runs/') >= min(size, 20)
        assert html.count(b"takes output") == max(1, size // 3)
        assert b'id="drift"' in html and b'id="outputs"' in html
        assert b'id="break-glass-mark"' in html
    assert counts[0] == counts[1], counts


@pytest.mark.parametrize("who", ["member", "platform admin"])
def test_awaiting_approval_resource_page_at_1_and_30_runs(
    who, people, make_resource, make_run, envs, teams, alice, client_as
) -> None:
    resource = make_resource(
        teams["payments"],
        "queue",
        environment=envs["prod"],
        status=ResourceStatus.AWAITING_APPROVAL,
        outputs={"message": "hello"},
        provisioned_at=timezone.now(),
        requested_by=alice,
    )
    client = client_as(people[who])
    url = f"/resources/{resource.pk}/"
    counts = []
    for size in (1, 30):
        _grow(make_resource, make_run, resource, size, alice)
        plan = make_run(
            resource,
            created_by=alice,
            plan_hash="b" * 64,
            finished_at=timezone.now() - timedelta(minutes=5),
            approval_requirement=NEEDS_ONE,
            plan_summary={"add": 1, "change": 0, "destroy": 0},
        )
        n, html = _count(client, url, PAGE_LIMIT)
        counts.append(n)
        assert b'id="approval-banner"' in html and b"This plan awaits your decision." in html
        assert f'plan <a href="/resources/runs/{plan.pk}/">run {plan.pk}</a>'.encode() in html
        assert b"not alice, who made this change" in html
    assert counts[0] == counts[1], counts


def test_the_page_lists_the_newest_runs_and_the_running_one(
    make_resource, make_run, teams, bob, client_as
) -> None:
    """The run list is the 20 newest; an older run still running is the current run, and the
    newest plan is the one shown even when 20 newer runs are drift checks."""
    resource = make_resource(teams["payments"], "old-run", provisioned_at=timezone.now())
    running = make_run(resource, kind=RunKind.APPLY, status=RunStatus.RUNNING)
    plan = make_run(resource, kind=RunKind.PLAN)
    drifts = [make_run(resource, kind=RunKind.DRIFT) for _ in range(21)]
    html = client_as(bob).get(f"/resources/{resource.pk}/").content.decode()
    listed = [r.pk for r in drifts[-20:]]
    assert all(f'href="/resources/runs/{pk}/">#{pk}</a>' in html for pk in listed)
    assert f">#{drifts[0].pk}</a>" not in html and f">#{running.pk}</a>" not in html
    assert f'href="/resources/runs/{running.pk}/">watch its log</a>' in html
    assert f"run {plan.pk}</a></h2>" in html


def test_who_touched_the_change_includes_the_author_chain(
    make_resource, make_run, make_user, envs, teams, alice, bob, client_as
) -> None:
    """Touchers come from the page's runs, and an author of the chain who made no run here is
    still named (read by pk): the banner and the proposed change say the same people."""
    frank = make_user("frank", team=teams["payments"], role=Role.MAINTAINER)
    resource = make_resource(
        teams["payments"],
        "chained",
        environment=envs["prod"],
        status=ResourceStatus.AWAITING_APPROVAL,
        requested_by=alice,
    )
    make_run(
        resource,
        created_by=alice,
        authors=[frank.pk],
        plan_hash="c" * 64,
        finished_at=timezone.now(),
        approval_requirement=NEEDS_ONE,
    )
    html = client_as(bob).get(f"/resources/{resource.pk}/").content.decode()
    assert "not alice, frank, who made this change" in html
    assert "by alice, frank</span>" in html
