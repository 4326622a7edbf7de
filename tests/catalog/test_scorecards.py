"""Scorecards from ground truth: every check on real rows, levels, rules as data, the daily
results and their trend, query counts, the portal pages and the API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import (
    DocsBuild,
    Entity,
    ScorecardResult,
    ScorecardRule,
    Service,
    Template,
    TemplateVersion,
)
from catalog.software.services import scorecards
from idp import services as idp_services
from idp.choices import Role
from idp.models import Environment, Team
from monitoring.models import Budget, CostRecord
from pipelines.models import Pipeline, PipelineRun
from provisioning.models import Approval, Resource, Run
from tests import helpers

ALL_RULES = [
    "owner-team-members",
    "lifecycle-set",
    "pipeline-green",
    "no-drift",
    "docs-fresh",
    "prod-approved-and-policies",
    "template-versions-current",
    "costs-within-budget",
]


# --- Real rows ---------------------------------------------------------------------------


@pytest.fixture
def rules(db: None) -> None:
    scorecards.sync_rules()


@pytest.fixture
def envs(db: None) -> dict[str, Environment]:
    return {
        "dev": idp_services.upsert_environment("dev", name="Development", order=10),
        "prod": idp_services.upsert_environment(
            "prod", name="Production", order=30, requires_approval=True, is_production=True
        ),
    }


@pytest.fixture
def version(db: None) -> Callable[..., TemplateVersion]:
    """A template with `count` versions; returns version `number` (the last is current)."""

    def make(slug: str = "queue", number: int = 1, count: int = 1) -> TemplateVersion:
        template, _ = Template.objects.get_or_create(slug=slug, defaults={"title": slug})
        for n in range(template.versions.count() + 1, count + 1):
            v = TemplateVersion.objects.create(template=template, number=n, content_hash=f"{n}")
            template.current_version = v
        template.save()
        return template.versions.get(number=number)

    return make


@pytest.fixture
def make_service(teams: dict[str, Team]) -> Callable[..., Service]:
    def make(slug: str, team: str = "payments", **kw: Any) -> Service:
        kw.setdefault("lifecycle", "production")
        return Service.objects.create(team=teams[team], name=slug.title(), slug=slug, **kw)

    return make


@pytest.fixture
def make_resource(
    envs: dict[str, Environment], version: Callable[..., TemplateVersion]
) -> Callable[..., Resource]:
    def make(service: Service, name: str, env: str = "dev", **kw: Any) -> Resource:
        v = kw.pop("template_version", None) or version()
        return helpers.make_resource(
            service.team, name, service=service, template_version=v, environment=envs[env], **kw
        )

    return make


def applied(
    resource: Resource,
    *,
    approver: Any = None,
    break_glass: bool = False,
    blocking: int = 0,
) -> Run:
    """A plan (with its policy results) applied successfully; approved if `approver`."""
    plan = Run.objects.create(
        resource=resource,
        kind="plan",
        status="succeeded",
        template_version=resource.template_version,
        plan_hash="h" * 64,
        policy_summary={"passed": 1, "warnings": 0, "failures": blocking, "blocking": blocking},
    )
    if approver is not None:
        Approval.objects.create(
            resource=resource,
            run=plan,
            decision="approved",
            decided_by=approver,
            break_glass=break_glass,
            plan_hash=plan.plan_hash,
        )
    Run.objects.create(
        resource=resource,
        kind="apply",
        status="succeeded",
        template_version=resource.template_version,
        plan_run=plan,
        finished_at=timezone.now(),
    )
    return plan


def pipeline(service: Service, *runs: tuple[str, str], state: str = "merged") -> Pipeline:
    """A pipeline with workflow runs, oldest first: (branch, conclusion)."""
    p = Pipeline.objects.create(
        service=service,
        slug="ci",
        template="python",
        workflow_name="CI",
        workflow_path=".github/workflows/ci.yml",
        repository=f"acme/{service.slug}",
        delivery_state=state,
    )
    for i, (branch, conclusion) in enumerate(runs):
        PipelineRun.objects.create(
            pipeline=p,
            github_run_id=1000 + i,
            status="completed" if conclusion else "in_progress",
            conclusion=conclusion,
            head_branch=branch,
        )
    return p


def docs(service: Service, *, age_days: int = 1, status: str = "succeeded") -> DocsBuild:
    entity = Entity.objects.get_or_create(
        kind="Component",
        namespace="default",
        name=service.slug,
        defaults={"service": service, "origin": "platform", "team": service.team},
    )[0]
    return DocsBuild.objects.create(
        entity=entity,
        status=status,
        finished_at=timezone.now() - timedelta(days=age_days),
    )


def result(service: Service, rule: str) -> scorecards.RuleResult:
    score = scorecards.evaluate_service(Service.objects.select_related("team").get(pk=service.pk))
    return next(r for r in score.results if r.rule == rule)


# --- Each check, passing and failing -----------------------------------------------------


def test_owner_team_members(rules: None, make_service: Callable, alice: Any, bob: Any) -> None:
    service = make_service("orders")  # payments: alice and bob
    r = result(service, "owner-team-members")
    assert r.passed and "2 members" in r.detail
    lone = make_service("lonely", team="search")
    r = result(lone, "owner-team-members")
    assert not r.passed and "0 member" in r.detail
    assert r.fix_url == "/teams/search/"


def test_lifecycle_set(rules: None, make_service: Callable) -> None:
    assert result(make_service("a", lifecycle="production"), "lifecycle-set").passed
    assert result(make_service("b", lifecycle="deprecated"), "lifecycle-set").passed
    r = result(make_service("c", lifecycle="experimental"), "lifecycle-set")
    assert not r.passed and r.fix_url.endswith("/services/c/edit/")


def test_pipeline_green(rules: None, make_service: Callable) -> None:
    none = make_service("none")
    assert "No pipeline" in result(none, "pipeline-green").detail

    green = make_service("green")
    pipeline(green, ("main", "failure"), ("feature", "failure"), ("main", "success"))
    assert result(green, "pipeline-green").passed

    red = make_service("red")
    p = pipeline(red, ("main", "success"), ("main", "failure"), ("feature-x", "success"))
    r = result(red, "pipeline-green")
    assert not r.passed and "failure" in r.detail and r.fix_url == p.get_absolute_url()

    open_pr = make_service("open-pr")
    pipeline(open_pr, ("main", "success"), state="delivered")
    assert "not merged" in result(open_pr, "pipeline-green").detail

    only_branch = make_service("only-branch")
    pipeline(only_branch, ("feature", "success"))
    assert "no run on main" in result(only_branch, "pipeline-green").detail


def test_prod_approved_and_policies(
    rules: None, make_service: Callable, make_resource: Callable, bob: Any, platform_admin: Any
) -> None:
    service = make_service("orders")
    assert result(service, "prod-approved-and-policies").detail == "No production resources"

    dev = make_resource(service, "scratch", env="dev")
    applied(dev)  # dev needs no approval
    db_ = make_resource(service, "db", env="prod")
    applied(db_, approver=bob)
    assert result(service, "prod-approved-and-policies").passed

    # A newer apply of an unapproved plan is what counts.
    applied(db_)
    r = result(service, "prod-approved-and-policies")
    assert not r.passed and "not approved" in r.detail and r.fix_url == db_.get_absolute_url()

    applied(db_, approver=platform_admin, break_glass=True)
    assert result(service, "prod-approved-and-policies").passed

    applied(db_, approver=bob, blocking=2)
    r = result(service, "prod-approved-and-policies")
    assert not r.passed and "2 mandatory policies" in r.detail

    never = make_resource(service, "cache", env="prod", status="applying")
    applied(db_, approver=bob)
    r = result(service, "prod-approved-and-policies")
    assert not r.passed and "cache: no applied plan" in r.detail
    never.status = "destroyed"
    never.save()
    assert result(service, "prod-approved-and-policies").passed


def test_no_drift(rules: None, make_service: Callable, make_resource: Callable) -> None:
    service = make_service("orders")
    make_resource(service, "ok")
    assert result(service, "no-drift").passed
    drifted = make_resource(service, "bucket", env="prod", drifted=True)
    r = result(service, "no-drift")
    assert not r.passed and "prod/bucket" in r.detail
    assert r.fix_url == drifted.get_absolute_url()
    make_resource(service, "old", drifted=True, status="destroyed")  # gone: ignored
    drifted.drifted = False
    drifted.save()
    assert result(service, "no-drift").passed


def test_template_versions_current(
    rules: None, make_service: Callable, make_resource: Callable, version: Callable
) -> None:
    service = make_service("orders")
    make_resource(service, "q", template_version=version("queue", number=2, count=3))
    assert result(service, "template-versions-current").passed  # 1 behind, max_behind 1
    old = make_resource(service, "q-old", template_version=version("queue", number=1, count=3))
    r = result(service, "template-versions-current")
    assert not r.passed and "2 version(s) behind queue" in r.detail
    assert r.fix_url == old.get_absolute_url()


def test_costs_within_budget(rules: None, make_service: Callable, teams: dict) -> None:
    service = make_service("orders")
    r = result(service, "costs-within-budget")
    assert not r.passed and "no budget" in r.detail and r.fix_url.endswith("/budget/")
    Budget.objects.create(team=teams["payments"], monthly_amount=Decimal("1000"))
    assert result(service, "costs-within-budget").passed
    today = timezone.now().date()
    CostRecord.objects.create(team=teams["payments"], date=today, amount=Decimal("5000"))
    r = result(service, "costs-within-budget")
    assert not r.passed and "over budget" in r.detail
    # Another team's spend is not ours.
    other = make_service("search-api", team="search")
    Budget.objects.create(team=teams["search"], monthly_amount=Decimal("10"))
    assert result(other, "costs-within-budget").passed


def test_docs_fresh(rules: None, make_service: Callable) -> None:
    service = make_service("orders")
    assert "No catalog entity" in result(service, "docs-fresh").detail
    docs(service, status="failed", age_days=1)
    assert "never built" in result(service, "docs-fresh").detail
    docs(service, age_days=120)
    r = result(service, "docs-fresh")
    assert not r.passed and "120 days ago" in r.detail
    docs(service, age_days=3)
    assert result(service, "docs-fresh").passed


# --- Levels ------------------------------------------------------------------------------


def R(level: str, passed: bool) -> scorecards.RuleResult:
    return scorecards.RuleResult("r", "r", level, passed, "")


@pytest.mark.parametrize(
    ("outcomes", "level"),
    [
        ([], "none"),
        ([R("bronze", False), R("silver", True), R("gold", True)], "none"),
        ([R("bronze", True), R("silver", False), R("gold", True)], "bronze"),
        ([R("bronze", True), R("silver", True), R("gold", False)], "silver"),
        ([R("bronze", True), R("silver", True), R("gold", True)], "gold"),
        ([R("bronze", True), R("gold", True)], "gold"),  # no silver rules: not a blocker
        ([R("bronze", True), R("silver", True)], "silver"),  # no gold rules: not awarded
    ],
)
def test_compute_level(outcomes: list, level: str) -> None:
    assert scorecards.compute_level(outcomes) == level


def gold_service(
    make_service: Callable, make_resource: Callable, teams: dict, approver: Any, slug: str
) -> Service:
    service = make_service(slug)
    pipeline(service, ("main", "success"))
    docs(service)
    applied(make_resource(service, f"{slug}-db", env="prod"), approver=approver)
    Budget.objects.get_or_create(team=teams["payments"], defaults={"monthly_amount": 100})
    return service


def test_level_of_a_real_service(
    rules: None, make_service: Callable, make_resource: Callable, teams: dict, alice: Any, bob: Any
) -> None:
    service = gold_service(make_service, make_resource, teams, bob, "orders")
    score = scorecards.evaluate_service(service)
    assert [r.rule for r in score.failing] == []
    assert (score.level, score.passed, score.total) == ("gold", 8, 8)

    Resource.objects.filter(service=service).update(drifted=True)  # a silver rule
    assert scorecards.evaluate_service(service).level == "bronze"
    Service.objects.filter(pk=service.pk).update(lifecycle="experimental")  # a bronze rule
    service.refresh_from_db()
    assert scorecards.evaluate_service(service).level == "none"


# --- Rules as data -----------------------------------------------------------------------


def test_sync_rules_is_idempotent(db: None) -> None:
    first = scorecards.sync_rules()
    assert sorted(first.created) == sorted(ALL_RULES)
    second = scorecards.sync_rules()
    assert (second.created, second.updated) == ([], [])
    call_command("sync_scorecard_rules")
    assert ScorecardRule.objects.count() == len(ALL_RULES)


def test_a_new_yaml_rule_changes_the_score_without_code(
    rules: None, make_service: Callable, alice: Any, bob: Any, tmp_path: Path
) -> None:
    service = make_service("orders", lifecycle="production")
    assert result(service, "owner-team-members").passed
    before = scorecards.evaluate_service(service)
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(
        "rules:\n"
        "  - slug: owner-team-of-five\n"
        "    title: Owner team has five members\n"
        "    evaluator: owner_team_members\n"
        "    params: {min_members: 5}\n"
        "    level: bronze\n"
        "    fix_hint: Grow the team.\n"
    )
    call_command("sync_scorecard_rules", file=rules_file)
    after = scorecards.evaluate_service(service)
    assert after.total == before.total + 1
    new = next(r for r in after.results if r.rule == "owner-team-of-five")
    assert not new.passed and "at least 5" in new.detail and new.fix_hint == "Grow the team."
    assert after.level == "none"

    ScorecardRule.objects.filter(slug="owner-team-of-five").update(enabled=False)
    disabled = scorecards.evaluate_service(service)
    assert disabled.total == before.total and disabled.level == before.level
    assert "owner-team-of-five" not in [r.rule for r in disabled.results]


def test_a_bad_rules_file_is_refused(db: None, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - {slug: x, title: X, evaluator: no_such_check, level: gold}\n")
    with pytest.raises(scorecards.ScorecardError, match="unknown evaluator"):
        scorecards.sync_rules(bad)
    bad.write_text("rules:\n  - {slug: x, title: X, evaluator: no_drift, level: platinum}\n")
    with pytest.raises(scorecards.ScorecardError, match="level must be"):
        scorecards.sync_rules(bad)
    assert not ScorecardRule.objects.exists()


def test_an_admin_rule_naming_a_missing_check_fails_only_itself(
    rules: None, make_service: Callable
) -> None:
    ScorecardRule.objects.create(slug="ghost", title="Ghost", evaluator="gone", level="gold")
    score = scorecards.evaluate_service(make_service("orders"))
    ghost = next(r for r in score.results if r.rule == "ghost")
    assert not ghost.passed and "Unknown check" in ghost.detail
    assert score.total == len(ALL_RULES) + 1


# --- Daily results, trend, query count ---------------------------------------------------


def test_score_all_is_idempotent_per_day_and_builds_a_trend(
    rules: None, make_service: Callable, alice: Any, bob: Any
) -> None:
    orders = make_service("orders")
    make_service("old", archived=True)
    yesterday = date.today() - timedelta(days=1)
    assert scorecards.score_all(yesterday) == 1
    assert scorecards.score_all(yesterday) == 1
    assert ScorecardResult.objects.filter(day=yesterday).count() == 1
    first = ScorecardResult.objects.get(service=orders, day=yesterday)
    assert first.level == "bronze" and first.total == len(ALL_RULES)

    Service.objects.filter(pk=orders.pk).update(lifecycle="experimental")
    scorecards.score_all()
    assert ScorecardResult.objects.count() == 2
    trend = scorecards.service_trend(orders, 30)
    assert [t["level"] for t in trend] == ["bronze", "none"]
    counts = scorecards.level_trend(ScorecardResult.objects.all(), 30)
    assert counts["levels"]["bronze"][-2:] == [1, 0]
    assert counts["levels"]["none"][-2:] == [0, 1]

    # Same day again, changed: replaced, not added.
    Service.objects.filter(pk=orders.pk).update(lifecycle="production")
    scorecards.score_all()
    assert ScorecardResult.objects.count() == 2
    assert ScorecardResult.objects.get(service=orders, day=date.today()).level == "bronze"


def _fleet(n: int, teams: dict, envs: dict, version: Callable, start: int) -> None:
    v = version()
    for team in teams.values():
        Budget.objects.get_or_create(team=team, defaults={"monthly_amount": 100})
        CostRecord.objects.create(
            team=team, service_slug=f"s{start}", date=timezone.now().date(), amount=Decimal(1)
        )
    for i in range(start, start + n):
        team = teams["payments" if i % 2 else "search"]
        s = Service.objects.create(team=team, name=f"s{i}", slug=f"s{i}", lifecycle="production")
        pipeline(s, ("main", "success"))
        docs(s)
        r = Resource.objects.create(
            team=team,
            service=s,
            template=v.template,
            template_version=v,
            environment=envs["prod"],
            name=f"r{i}",
            status="provisioned",
        )
        applied(r)


def test_score_all_query_count_does_not_grow_with_services(
    rules: None, teams: dict, envs: dict, version: Callable
) -> None:
    _fleet(2, teams, envs, version, 0)
    with CaptureQueriesContext(connection) as small:
        scorecards.score_all()
    _fleet(20, teams, envs, version, 100)
    with CaptureQueriesContext(connection) as big:
        assert scorecards.score_all() == 22
    sql = "\n".join(q["sql"] for q in big.captured_queries)
    assert len(big.captured_queries) == len(small.captured_queries), sql
    assert len(big.captured_queries) <= 16, sql


def test_api_and_portal_query_counts_do_not_grow_with_services(
    rules: None,
    teams: dict,
    envs: dict,
    version: Callable,
    api_as: Callable,
    client_as: Callable,
    platform_admin: Any,
) -> None:
    api = api_as(platform_admin)
    _fleet(2, teams, envs, version, 0)
    urls = ["/api/v1/scorecards/", "/catalog/scorecards/"]
    small = {}
    for url in urls:
        client = api if url.startswith("/api") else client_as(platform_admin)
        client.get(url)  # the first request also records the token's use
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        small[url] = len(ctx.captured_queries)
    _fleet(20, teams, envs, version, 100)
    for url in urls:
        client = api if url.startswith("/api") else client_as(platform_admin)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        sql = "\n".join(q["sql"] for q in ctx.captured_queries)
        assert len(ctx.captured_queries) == small[url], sql


# --- Portal ------------------------------------------------------------------------------


def test_portal_pages(
    rules: None, make_service: Callable, client_as: Callable, alice: Any, carol: Any
) -> None:
    orders = make_service("orders", lifecycle="experimental")
    make_service("search-api", team="search")
    scorecards.score_all(date.today() - timedelta(days=1))
    client = client_as(alice)

    page = client.get("/catalog/scorecards/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "orders" in text and "search-api" not in text  # only what alice sees
    assert 'data-chart="chart-data-scorecard-trend"' in text

    detail = client.get("/catalog/scorecards/services/orders/").content.decode()
    assert "Lifecycle is experimental" in detail
    assert 'href="/catalog/services/orders/edit/"' in detail and "How to fix" in detail
    assert 'href="/teams/payments/"' in detail

    badge = client.get("/catalog/scorecards/services/orders/badge/").content.decode()
    assert "/8 rules" in badge
    assert (
        "scorecards/services/orders/badge/"
        in client.get(orders.get_absolute_url()).content.decode()
    )

    assert client.get("/catalog/scorecards/teams/payments/").status_code == 200
    assert client.get("/catalog/scorecards/services/search-api/").status_code == 404
    assert client.get("/catalog/scorecards/services/search-api/badge/").status_code == 404
    assert client.get("/catalog/scorecards/teams/search/").status_code == 404


# --- API ---------------------------------------------------------------------------------


def test_api_list_and_detail(
    rules: None,
    make_service: Callable,
    api_as: Callable,
    alice: Any,
    bob: Any,
    carol: Any,
    make_user: Callable,
    teams: dict,
) -> None:
    make_service("orders")
    make_service("billing", lifecycle="experimental")
    make_service("search-api", team="search")
    scorecards.score_all(date.today() - timedelta(days=1))
    api = api_as(alice)

    body = api.get("/api/v1/scorecards/").json()
    assert [r["service"] for r in body["results"]] == ["billing", "orders"]
    orders = next(r for r in body["results"] if r["service"] == "orders")
    assert orders["level"] == "bronze" and orders["total"] == len(ALL_RULES)
    assert "pipeline-green" in orders["failing"]

    assert [r["service"] for r in api.get("/api/v1/scorecards/?level=none").json()["results"]] == [
        "billing"
    ]
    assert api.get("/api/v1/scorecards/?team=search").json()["results"] == []
    assert api.get("/api/v1/scorecards/?level=platinum").status_code == 400
    page = api.get("/api/v1/scorecards/?page_size=1").json()
    assert page["count"] == 2 and len(page["results"]) == 1

    detail = api.get("/api/v1/scorecards/orders/").json()
    assert {r["rule"] for r in detail["rules"]} == set(ALL_RULES)
    lifecycle = next(r for r in detail["rules"] if r["rule"] == "lifecycle-set")
    assert lifecycle["passed"] is True
    team_rule = next(r for r in detail["rules"] if r["rule"] == "pipeline-green")
    assert team_rule["fix_url"].startswith("/pipelines/new/")
    assert detail["trend"] == [
        {
            "day": (date.today() - timedelta(days=1)).isoformat(),
            "level": "bronze",
            "passed": 5,
            "total": len(ALL_RULES),
        }
    ]

    # Another team's service: 404, as if it did not exist; a viewer of payments reads.
    assert api_as(carol).get("/api/v1/scorecards/orders/").status_code == 404
    assert api_as(carol).get("/api/v1/scorecards/nope/").status_code == 404
    viewer = make_user("vera", team=teams["payments"], role=Role.VIEWER)
    assert api_as(viewer).get("/api/v1/scorecards/orders/").status_code == 200
    assert api_as(None).get("/api/v1/scorecards/").status_code == 401


def test_an_admin_row_adds_a_rule_and_members_cannot(
    rules: None, make_service: Callable, client_as: Callable, platform_admin: Any, bob: Any
) -> None:
    service = make_service("orders")
    before = scorecards.evaluate_service(service).total
    form = {
        "slug": "no-drift-gold",
        "title": "No drift (gold)",
        "evaluator": "no_drift",
        "params": "{}",
        "level": "gold",
        "fix_hint": "",
        "enabled": "on",
    }
    # Staff without the rule permissions (a team maintainer) cannot add one.
    bob.is_staff = True
    bob.save(update_fields=["is_staff"])
    platform_admin.is_staff = platform_admin.is_superuser = True
    platform_admin.save(update_fields=["is_staff", "is_superuser"])
    client = client_as(bob)
    assert client.post("/admin/catalog/scorecardrule/add/", form).status_code == 403
    assert not ScorecardRule.objects.filter(slug="no-drift-gold").exists()

    client = client_as(platform_admin)
    bad = client.post("/admin/catalog/scorecardrule/add/", {**form, "evaluator": "rm_rf"})
    assert bad.status_code == 200 and not ScorecardRule.objects.filter(slug="no-drift-gold")
    assert client.post("/admin/catalog/scorecardrule/add/", form).status_code == 302
    assert scorecards.evaluate_service(service).total == before + 1


def test_the_daily_task_is_scheduled_and_scores(
    rules: None, make_service: Callable, settings: Any
) -> None:
    from catalog.software.tasks import score_services
    from config.celery import app

    make_service("orders")
    schedule = [e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()]
    assert "catalog.score_services" in schedule
    assert "catalog.score_services" in app.tasks
    assert score_services.apply().get() == 1
    assert ScorecardResult.objects.filter(day=timezone.now().date()).count() == 1
