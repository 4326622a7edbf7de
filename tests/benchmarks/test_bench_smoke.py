"""The benchmark's code paths at tiny scale, so they keep working between full runs."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from guardian.models import GroupObjectPermission

from benchmarks import queries, seed
from benchmarks.report import summarise_queries
from idp.choices import ROLE_ORDER, TEAM_PERMS_BY_ROLE
from idp.models import Membership, Team
from idp.rbac import has_team_perm
from provisioning.models import Resource

pytestmark = pytest.mark.django_db


def test_seed_makes_teams_as_create_team_does_and_the_member_sees_only_their_teams() -> None:
    seeded = seed.seed(seed.TINY)

    assert seeded.counts["teams"] == seed.TINY.teams
    assert seeded.counts["resources"] == seed.TINY.resources
    assert seeded.counts["services"] == seed.TINY.services
    assert seeded.counts["runs"] > 0
    per_team = sum(len(TEAM_PERMS_BY_ROLE[r]) for r in ROLE_ORDER)
    assert GroupObjectPermission.objects.count() == per_team * seed.TINY.teams
    User = get_user_model()
    member = User.objects.get(pk=seeded.member_id)
    # The member holds what set_membership would give: the role group's permissions.
    for team in Team.objects.all():
        is_member = Membership.objects.filter(team=team, user=member).exists()
        assert has_team_perm(member, team, "use_team") is is_member
        # A maintainer: the role that approves the waiting plans.
        assert has_team_perm(member, team, "maintain_team") is is_member
        assert member.groups.filter(name=team.group_name("maintainer")).exists() is is_member
    visible = Resource.objects.for_user(member)
    assert visible.count() == Resource.objects.filter(team_id__in=seeded.member_team_ids).count()
    admin = User.objects.get(pk=seeded.admin_id)
    assert Resource.objects.for_user(admin).count() == seed.TINY.resources
    assert seed.is_seeded(seed.TINY)


def test_the_seeded_plans_await_both_the_member_and_the_platform_admin() -> None:
    from provisioning.actions import inbox

    seeded = seed.seed(seed.TINY)
    User = get_user_model()
    member, admin = User.objects.get(pk=seeded.member_id), User.objects.get(pk=seeded.admin_id)

    assert seeded.counts["waiting_plans"] == seed.TINY.waiting
    assert inbox.inbox_count(member) == seed.TINY.waiting
    assert inbox.inbox_count(admin) == seed.TINY.waiting
    # A reused database is older than the approval window: reopening keeps the inbox full.
    from datetime import timedelta

    from django.utils import timezone

    from provisioning.models import Run

    Run.objects.filter(resource__name__startswith="wait-").update(
        finished_at=timezone.now() - timedelta(days=30)
    )
    assert inbox.inbox_count(admin) == 0
    assert seed.reopen_waiting() == seed.TINY.waiting
    assert inbox.inbox_count(member) == seed.TINY.waiting


def test_queries_per_request_come_out_at_two_sizes_and_the_probe_data_is_rolled_back(
    settings: Any,
) -> None:
    settings.ROOT_URLCONF = "benchmarks.ceiling_urls"  # the ceiling view, as the bench serves it
    seed.seed(seed.TINY)
    before = Resource.objects.count()

    results = queries.measure(grow_by=60)

    assert Resource.objects.count() == before
    by_key = {r.key: r for r in results}
    ceiling = by_key["ceiling"]
    assert ceiling.status_small == ceiling.status_large == 200
    assert ceiling.queries_small == ceiling.queries_large == 0
    for result in results:
        assert result.rows_large >= result.rows_small
        if result.available and result.key != "ceiling":
            assert result.queries_small > 0, result
    member_list = by_key["api_resources_member"]
    assert member_list.rows_large > member_list.rows_small
    # Every page answers for both roles, and the inbox grows with the waiting plans.
    assert [r.key for r in results if not r.available] == []
    for role in ("member", "admin"):
        assert by_key[f"inbox_{role}"].rows_large > by_key[f"inbox_{role}"].rows_small > 0
    assert by_key["resource_member"].max_queries == 12
    rows = summarise_queries(results)
    assert len(rows) == len(results) and all("verdict" in row for row in rows)


def test_the_load_generators_credentials_sign_in_as_the_seeded_users(settings: Any) -> None:
    from django.test import Client

    from benchmarks.pages import api_token, request_headers, session_cookie

    settings.ROOT_URLCONF = "benchmarks.ceiling_urls"
    seeded = seed.seed(seed.TINY)
    User = get_user_model()
    member = User.objects.get(pk=seeded.member_id)
    credentials = {"member": {"token": api_token(member), "session": session_cookie(member)}}
    measured = {p.key: p for p in pages_for(seeded)}

    portal = request_headers(measured["portal_resources_member"], credentials)
    cookie = portal["Cookie"].split("=", 1)[1]
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    response = client.get("/resources/")
    assert response.status_code == 200  # signed in: not a redirect to the sign-in page
    assert response.wsgi_request.user.pk == member.pk

    api = request_headers(measured["api_resources_member"], credentials)
    response = Client().get("/api/v1/resources/", HTTP_AUTHORIZATION=api["Authorization"])
    assert response.status_code == 200
    visible = Resource.objects.filter(team_id__in=seeded.member_team_ids).count()
    assert response.json()["count"] == visible


def test_results_are_written_as_json_and_printed_with_a_verdict_per_target(
    tmp_path: Any, monkeypatch: Any
) -> None:
    import json

    from rich.console import Console

    from benchmarks import report

    monkeypatch.setattr(report, "RESULTS_DIR", tmp_path)
    results = report.Results("smoke")
    results.sections["load"] = {"workers": 5, "users": 2, "seconds": 20, "pages": [{
        "key": "ceiling", "title": "ceiling", "rps": 100.0, "p50_ms": 5.0, "p95_ms": 9.0,
        "p99_ms": 12.0, "pct_of_ceiling": 100.0, "failures": 0, "queries": 0,
    }]}  # fmt: skip
    results.sections["load_queued"] = {"workers": 5, "users": 5, "seconds": 20, "pages": [{
        "key": "ceiling", "title": "ceiling", "rps": 99.0, "p50_ms": 15.0, "p95_ms": 29.0,
        "p99_ms": 32.0, "pct_of_ceiling": 100.0, "failures": 0, "queries": 0,
    }]}  # fmt: skip
    results.target("load", "x p95", 9.0, "≤ 50 ms", True)
    results.target("provision", "ratio", None, "≤ 1.25", None, "not available")

    path = results.write()
    data = json.loads(path.read_text())
    assert data["name"] == "smoke" and data["machine"]["cores"]
    assert [t["passed"] for t in data["targets"]] == [True, None]
    console = Console(record=True, width=160)
    report.print_summary(results, console)
    text = console.export_text()
    assert "PASS" in text and "n/a" in text and "ceiling" in text
    assert "2 users" in text and "5 users" in text
    table = report.markdown(json.loads(results.write().read_text()))
    assert "| ceiling | 100.0 |" in table and "| load | x p95 | 9.00 | ≤ 50 ms | PASS |" in table
    assert "| ceiling | 99.0 | 15 | 29 |" in table and "5 locust users" in table


def test_load_runs_at_one_user_per_core_then_one_per_worker(monkeypatch: Any) -> None:
    from benchmarks import __main__ as bench

    monkeypatch.setattr(bench.os, "cpu_count", lambda: 2)
    assert bench.load_levels(None, 5) == [("load", 2), ("load_queued", 5)]
    assert bench.load_levels(None, 2) == [("load", 2)]
    assert bench.load_levels(3, 5) == [("load", 3)]


def pages_for(seeded: seed.Seeded) -> list[Any]:
    from benchmarks.pages import pages

    return pages(service_slug=seeded.service_slug, resource_id=seeded.resource_id)


def test_percentiles_are_nearest_rank() -> None:
    from benchmarks.provision import _percentile

    twenty = [float(v) for v in range(1, 21)]
    assert _percentile(twenty, 95) == 19.0  # not the maximum: 19 of 20 values are ≤ 19
    assert _percentile(twenty, 50) == 10.0
    assert _percentile(twenty, 100) == 20.0
    assert _percentile([7.0], 95) == 7.0 and _percentile([], 95) is None


def test_the_policy_benchmark_measures_each_plan_size() -> None:
    from benchmarks import policies

    rows = policies.measure(sizes=(1, 5), repeats=2)
    assert [row["changes"] for row in rows] == [1, 5]
    assert all(row["policies"] == 7 and row["p95_ms"] > 0 for row in rows)
    # The plans it measures are judged as real ones: they pass every shipped policy.
    from policies.engine import evaluate
    from policies.loader import SHIPPED_DIR, parse_policy, policy_files

    document = policies.plan_document(10)
    for path in policy_files(SHIPPED_DIR):
        parsed = parse_policy(path)
        findings = evaluate(
            slug=parsed.slug,
            version=1,
            package=parsed.package,
            source=parsed.source,
            document=document,
        )
        assert [f.level for f in findings] == ["passed"], (parsed.slug, findings)


def test_the_provisioning_and_fleet_sections_find_the_engine() -> None:
    """A section that cannot import the engine reports "not available" instead of numbers:
    the provisioning section did so for a while after the action layer moved."""
    from benchmarks import fleet, provision

    assert provision.engine_available() is None
    assert fleet.engine_available() is None


def test_the_state_cache_section_reads_states_of_both_sizes(teams: Any) -> None:
    """Its states are ones the platform summarises (serial, lineage, sensitive outputs) at
    the sizes it reports."""
    from benchmarks import statecache
    from provisioning.engine.state_cache import summarise
    from tests.helpers import make_resource

    resource = make_resource(teams["payments"], "bench-state")
    sizes = {}
    for label, instances, goal, _ in statecache.SIZES:
        data = statecache.state_document(resource.pk, 5, instances)
        summary = summarise(data, resource)
        assert (summary.serial, summary.resource_count) == (5, 1) and summary.lineage
        assert len(summary.addresses) == instances and summary.sensitive_output_names == (
            "password",
        )
        sizes[label] = len(data)
        assert goal > 0
    assert 40_000 < sizes["typical"] < 100_000 and 800_000 < sizes["large"] < 1_300_000


@pytest.mark.django_db
def test_the_whatif_section_replays_its_plans_and_removes_them(teams: Any) -> None:
    from benchmarks import policies
    from benchmarks.report import Results
    from provisioning.models import Run
    from tests.helpers import make_resource

    make_resource(teams["payments"], "bench-whatif")
    results = Results("test")
    policies.run_whatif_section(results, count=60, log=lambda *a: None)
    section = results.sections["whatif"]
    # Replicas cycle 0..5: those over 3 (4 and 5) are blocked, a third of the plans.
    assert (section["plans"], section["newly_blocked"]) == (60, 20)
    assert results.targets[-1].passed is True
    assert not Run.objects.exists()
