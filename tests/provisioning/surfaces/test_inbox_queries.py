"""The approvals inbox in the database: `approval_policy.decidable_plans` is the approval
policy's rule (`ApprovalPolicy.refusal`) as one query, and the badge and inbox pages cost the
same number of queries however many plans wait.

The rule is written twice (a Python check for one plan with its reasons, a query for many):
the matrix below compares them on every case four eyes and the roles know, so the two cannot
drift apart unnoticed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from idp import services
from idp.choices import Role
from idp.models import Environment
from idp.service_accounts import create_service_account
from provisioning import proposals
from provisioning.actions import inbox
from provisioning.actions.inbox import BADGE_MAX
from provisioning.approval_policy import ApprovalPolicy, approval_ttl, decidable_plans
from provisioning.choices import ApprovalDecision, ResourceStatus, RunKind, RunStatus
from provisioning.models import Approval, Resource, Run

NEEDS_ONE = {"approvals": 1, "platform_admin": False, "reasons": ["prod requires 1 approval"]}
NEEDS_TWO = {**NEEDS_ONE, "approvals": 2}
ADMIN_ONE = {"approvals": 1, "platform_admin": True, "reasons": ["over budget"]}
ADMIN_TWO = {"approvals": 2, "platform_admin": True, "reasons": ["over budget"]}
# An approval rule's role: one approver must be an admin of the team (or a platform admin).
TEAM_ADMIN_ONE = {"approvals": 1, "role": "admin", "reasons": ["stateful (rule x)"]}
TEAM_ADMIN_TWO = {**TEAM_ADMIN_ONE, "approvals": 2}
DIGEST = "d" * 64


def _expected(user: Any) -> set[int]:
    """The plans the Python policy lets `user` decide on, asked one resource at a time."""
    found = set()
    now = timezone.now()
    for resource in Resource.objects.for_user(user).select_related("team", "environment"):
        plan = proposals.plan_awaiting_decision(resource)
        if plan is None or (plan.finished_at and plan.finished_at + approval_ttl() <= now):
            continue
        if ApprovalPolicy.of(resource).refusal(resource, plan, user) is None:
            found.add(plan.pk)
    return found


@pytest.fixture
def matrix(make_resource, make_run, make_user, teams, envs, alice, bob, carol, platform_admin):
    """Plans awaiting approval in every shape the rule distinguishes, and people in every
    relation to them. Returns the people by name."""
    envs["staging"] = Environment.objects.create(
        slug="staging", name="Staging", order=2, requires_approval=True, approver_role="admin"
    )
    pay, search = teams["payments"], teams["search"]
    people = {
        "alice": alice,  # member of payments: may request, never approve
        "bob": bob,  # maintainer of payments
        "carol": carol,  # member of search
        "padmin": platform_admin,
        "dave": make_user("dave", team=pay, role=Role.ADMIN),
        "erin": make_user("erin", team=pay, role=Role.MAINTAINER),  # re-planned a change
        "frank": make_user("frank", team=pay, role=Role.MAINTAINER),  # authored upstream
        "grace": make_user("grace", team=pay, role=Role.MAINTAINER),  # requested some
        "heidi": make_user("heidi", team=pay, role=Role.MAINTAINER),  # approved some
        "judy": make_user("judy", team=search, role=Role.MAINTAINER),
        "victor": make_user("victor", team=pay, role=Role.VIEWER),
        "multi": make_user("multi", team=pay, role=Role.MAINTAINER),
    }
    services.set_membership(search, people["multi"], Role.ADMIN)
    people["padmin2"] = make_user("padmin2")
    services.set_platform_admin(people["padmin2"], True)
    people["robot"] = create_service_account(pay, "robot", role=Role.MAINTAINER, actor=bob).user
    u = people
    finished = timezone.now() - timedelta(minutes=5)

    def plan(resource: Resource, *, by: Any = None, **kw: Any) -> Run:
        kw.setdefault("approval_requirement", NEEDS_ONE)
        kw.setdefault("plan_hash", "a" * 64)
        kw.setdefault("finished_at", finished)
        return make_run(resource, created_by=by, **kw)

    def waiting(name: str, requester: Any, *, team: Any = pay, env: str = "prod", **kw) -> Resource:
        kw.setdefault("status", ResourceStatus.AWAITING_APPROVAL)
        return make_resource(team, name, environment=envs[env], requested_by=requester, **kw)

    def approve(run: Run, who: Any, **kw: Any) -> Approval:
        kw.setdefault("plan_hash", run.plan_hash)
        kw.setdefault("decision", ApprovalDecision.APPROVED)
        kw.setdefault("policy_digest", (run.policy_summary or {}).get("digest", ""))
        return Approval.objects.create(resource=run.resource, run=run, decided_by=who, **kw)

    # A new resource alice asked for: four eyes shuts alice out, role shuts the rest.
    plan(waiting("created", u["alice"]), by=u["alice"])
    # The same, by a maintainer: grace may not decide on her own request.
    plan(waiting("graces", u["grace"]), by=u["grace"])
    # Requested by grace, applied since: a change by alice; the requester may decide now.
    applied = waiting("applied", u["grace"], provisioned_at=timezone.now())
    old = plan(applied, by=u["erin"])  # erin's plan before the change began: not a toucher
    Resource.objects.filter(pk=applied.pk).update(proposal_after_run=old.pk)
    plan(applied, by=u["alice"])
    # Re-planned by erin after alice's change: both touched it.
    replanned = waiting("replanned", u["alice"])
    plan(replanned, by=u["alice"], status=RunStatus.SUCCEEDED)
    plan(replanned, by=u["erin"])
    # A platform re-plan whose author chain names frank (an upstream's change), as numbers
    # and, in an older row, as strings.
    plan(waiting("dependant", u["alice"]), authors=[u["frank"].pk])
    plan(waiting("dependant-old", u["alice"]), authors=[str(u["frank"].pk), str(u["bob"].pk)])
    # Staging wants an admin of the team.
    plan(waiting("staging", u["alice"], env="staging"), by=u["alice"])
    # Over budget: only a platform admin may give the last approval.
    plan(waiting("over-budget", u["alice"]), by=u["alice"], approval_requirement=ADMIN_ONE)
    two = plan(waiting("over-two", u["alice"]), by=u["alice"], approval_requirement=ADMIN_TWO)
    approve(two, u["heidi"])  # one given, one left: a platform admin's
    two_admin = plan(
        waiting("over-two-admin", u["alice"]), by=u["alice"], approval_requirement=ADMIN_TWO
    )
    approve(two_admin, u["padmin2"])  # a platform admin gave one: anyone eligible may add
    # Two approvals needed: heidi gave one; approvals that no longer count do not shut out.
    counted = plan(waiting("two", u["alice"]), by=u["alice"], approval_requirement=NEEDS_TWO)
    approve(counted, u["heidi"])
    stale = plan(
        waiting("stale-approvals", u["alice"]),
        by=u["alice"],
        approval_requirement=NEEDS_TWO,
        policy_summary={"digest": DIGEST},
    )
    approve(stale, u["heidi"], plan_hash="b" * 64)  # another plan file
    approve(stale, u["erin"], policy_digest="e" * 64)  # other policy results
    approve(stale, u["frank"], expires_at=timezone.now() - timedelta(minutes=1))
    approve(stale, u["dave"], decision=ApprovalDecision.REJECTED)
    approve(stale, u["grace"])  # this one counts: grace already approved
    approve(stale, u["padmin"], policy_digest="")  # given before the policy results
    # An approval rule wants an admin of the team: only one may give the last approval.
    plan(waiting("rule-admin", u["alice"]), by=u["alice"], approval_requirement=TEAM_ADMIN_ONE)
    by_maintainer = plan(
        waiting("rule-admin-two", u["alice"]), by=u["alice"], approval_requirement=TEAM_ADMIN_TWO
    )
    approve(by_maintainer, u["heidi"])  # one given, by a maintainer: an admin's is left
    by_admin = plan(
        waiting("rule-admin-two-dave", u["alice"]),
        by=u["alice"],
        approval_requirement=TEAM_ADMIN_TWO,
    )
    approve(by_admin, u["dave"])  # an admin gave one: any eligible maintainer may add
    # Another team's plan.
    plan(waiting("search-one", u["carol"], team=search), by=u["carol"])
    # Not awaiting anyone: expired, superseded by a running plan, failed, not waiting.
    plan(waiting("expired", u["alice"]), by=u["alice"], finished_at=finished - approval_ttl())
    running = waiting("running", u["alice"])
    plan(running, by=u["alice"])
    plan(running, by=u["alice"], status=RunStatus.RUNNING, plan_hash="", finished_at=None)
    plan(waiting("no-file", u["alice"]), by=u["alice"], plan_hash="")
    plan(waiting("failed", u["alice"]), by=u["alice"], status=RunStatus.FAILED)
    plan(waiting("planning", u["alice"], status=ResourceStatus.PLANNING), by=u["alice"])
    plan(waiting("apply-only", u["alice"]), by=u["alice"], kind=RunKind.APPLY)
    return people


def test_the_query_and_the_policy_agree_on_every_case(matrix) -> None:
    answers = {}
    for name, user in matrix.items():
        expected = _expected(user)
        got = set(decidable_plans(user).values_list("pk", flat=True))
        assert got == expected, name
        answers[name] = {Run.objects.get(pk=pk).resource.name for pk in got}
    # The matrix is worth something only if the cases are told apart.
    assert answers["alice"] == answers["carol"] == answers["victor"] == set()
    assert answers["robot"] == set()  # a service account never decides
    assert "graces" not in answers["grace"] and "applied" in answers["grace"]
    assert "replanned" not in answers["erin"] and "applied" in answers["erin"]
    assert "dependant" not in answers["frank"] and "dependant-old" not in answers["frank"]
    assert "dependant-old" not in answers["bob"] and "dependant" in answers["bob"]
    assert "staging" in answers["dave"] and "staging" not in answers["bob"]
    assert "over-budget" not in answers["bob"] and "over-budget" in answers["padmin"]
    assert "over-two" not in answers["bob"] and "over-two-admin" in answers["bob"]
    assert "two" not in answers["heidi"] and "two" in answers["bob"]
    assert "stale-approvals" not in answers["grace"]
    assert "stale-approvals" in answers["heidi"] and "stale-approvals" in answers["erin"]
    assert "stale-approvals" in answers["padmin"]
    assert "rule-admin" not in answers["bob"] and "rule-admin" in answers["dave"]
    assert "rule-admin" in answers["padmin"] and "rule-admin" not in answers["multi"]
    assert "rule-admin-two" not in answers["bob"] and "rule-admin-two" in answers["dave"]
    assert "rule-admin-two-dave" in answers["bob"] and "rule-admin-two" not in answers["heidi"]
    assert answers["judy"] == {"search-one"}
    assert "search-one" in answers["multi"] and "created" in answers["multi"]
    assert "over-two-admin" not in answers["padmin2"] and "created" in answers["padmin2"]
    for gone in ("expired", "running", "no-file", "failed", "planning", "apply-only"):
        assert gone not in answers["padmin"]


def test_the_inbox_lists_what_the_query_finds(matrix) -> None:
    for name in ("bob", "dave", "padmin", "multi"):
        user = matrix[name]
        items = inbox.inbox_items(user)
        assert [i.plan_run for i in items] == list(
            inbox.awaiting(user).values_list("pk", flat=True)
        )
        assert {i.plan_run for i in items} == _expected(user), name
        assert inbox.inbox_count(user) == len(items)
        assert all(inbox.inbox_item(user, i.plan_run) is not None for i in items)


# --- query counts at two data sizes ------------------------------------------------------


def _seed(make_resource, make_run, envs, teams, requester: Any, start: int, stop: int) -> None:
    """Plans `start`..`stop` awaiting approval spread over three teams, each with an approval that
    no longer counts (so describing them reads approvals)."""
    names = ["payments", "search", "web"]
    finished = timezone.now() - timedelta(minutes=5)
    for i in range(start, stop):
        resource = make_resource(
            teams[names[i % 3]],
            f"wait-{i}",
            environment=envs["prod"],
            status=ResourceStatus.AWAITING_APPROVAL,
            requested_by=requester,
        )
        run = make_run(
            resource,
            created_by=requester,
            plan_hash="a" * 64,
            finished_at=finished,
            approval_requirement=NEEDS_ONE,
            plan_summary={"add": 1, "change": 0, "destroy": 0},
        )
        Approval.objects.create(
            resource=resource,
            run=run,
            decided_by=requester,
            decision=ApprovalDecision.APPROVED,
            plan_hash="0" * 64,
        )


def _count_queries(client: Any, url: str) -> tuple[int, list[str], Any]:
    client.get(url)  # grants and sessions warm, as on every page after the first
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries], response


@pytest.mark.slow
def test_badge_and_inbox_cost_the_same_at_10_and_300_waiting_plans(
    make_resource, make_run, make_user, make_team, envs, teams, alice, platform_admin, client_as
) -> None:
    teams["web"] = make_team("web")
    lead = make_user("lead")  # a maintainer of three teams
    for team in teams.values():
        services.set_membership(team, lead, Role.MAINTAINER)
        services.set_membership(team, alice, Role.MEMBER)
    counts: dict[tuple[str, str], list[int]] = {}
    shown: dict[str, list[int]] = {}
    made = 0
    for size in (10, 300):
        _seed(make_resource, make_run, envs, teams, alice, made, size)
        made = size
        for who, user in (("platform admin", platform_admin), ("lead of 3 teams", lead)):
            client = client_as(user)
            for page, url in (("portal list", "/resources/"), ("inbox", "/resources/approvals/")):
                n, sql, response = _count_queries(client, url)
                counts.setdefault((who, page), []).append(n)
                # Past 99 the badge says "99+"; the inbox page, which counted all, too.
                label = f"{size} plans" if size <= BADGE_MAX else f"more than {BADGE_MAX} plans"
                badge = f'aria-label="{label} await your decision"'.encode()
                assert badge in response.content, (who, page, size)
                inbox_sql = [q for q in sql if "awaiting_approval" in q]
                assert len(inbox_sql) <= 2, "\n\n".join(inbox_sql)  # the count, one page
            api = _api_count(user, size)
            shown.setdefault(who, []).append(api)
    for key, (small, large) in counts.items():
        assert small == large, f"{key}: {small} queries at 10 plans, {large} at 300"
    for who, (small, large) in shown.items():
        assert small == large, f"{who} API: {small} queries at 10 plans, {large} at 300"
    # Measured: the inbox page 12 (admin) and 13 (lead): the page's plan ids, then its plans,
    # the first page read with sorting turned off (two SETs and a savepoint inside the
    # test's transaction; one SET outside any); the API's inbox 5 (ids, then plans).
    assert max(n for (_, page), ns in counts.items() if page == "inbox" for n in ns) <= 13, counts
    assert max(n for ns in shown.values() for n in ns) <= 5, shown


def _api_count(user: Any, size: int) -> int:
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    client.get("/api/v1/approvals/")
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/api/v1/approvals/")
    assert response.status_code == 200 and response.json()["count"] == size
    return len(ctx.captured_queries)


def test_badge_is_one_query(awaiting_matrix_small) -> None:
    """The badge alone: one COUNT, whatever the user (grants already loaded)."""
    for user in awaiting_matrix_small:
        inbox.inbox_count(user)
        with CaptureQueriesContext(connection) as ctx:
            inbox.inbox_count(user)
        assert len(ctx.captured_queries) <= 2, [q["sql"] for q in ctx.captured_queries]


@pytest.fixture
def awaiting_matrix_small(matrix) -> list[Any]:
    return [matrix[n] for n in ("bob", "padmin", "multi", "alice", "robot")]
