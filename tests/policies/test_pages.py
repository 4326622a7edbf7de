"""The Policies page: every policy with its scope, enforcement, source and version, a broken
one shown with its error, and failures counted only for the teams the user sees."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from idp.models import Team
from policies.models import Policy, PolicyResult
from policies.services import sync_policies
from policies.trends import failure_counts

from .support import failing_runs, judge, plan_run

pytestmark = pytest.mark.django_db

BROKEN = "package idp.half_written\nimport rego.v1\n\ndeny contains m if {\n  m := \n}\n"


@pytest.fixture
def extra(tmp_path: Path, settings: Any) -> Path:
    settings.IDP_POLICY_DIRS = [str(tmp_path)]
    return tmp_path


@pytest.fixture
def synced(extra: Path) -> None:
    report = sync_policies()
    assert report.ok, report.failed


@pytest.fixture
def failures(synced: None, teams: dict[str, Team]) -> dict[str, list[Any]]:
    """payments failed example_replicas on two plans, search on one."""
    return {
        "payments": failing_runs(teams["payments"], 2),
        "search": failing_runs(teams["search"], 1),
    }


def row(response: Any, slug: str) -> dict[str, Any]:
    return next(r for r in response.context["rows"] if r["policy"].slug == slug)


def test_a_visitor_is_sent_to_sign_in(client: Any, synced: None) -> None:
    for url in ("/policies/", "/policies/example_replicas/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_list_shows_every_policy_with_scope_enforcement_source_and_version(
    client_as: Any, alice: Any, synced: None
) -> None:
    response = client_as(alice).get("/policies/")
    assert response.status_code == 200
    listed = [r["policy"].slug for r in response.context["rows"]]
    assert listed == sorted(Policy.objects.filter(removed=False).values_list("slug", flat=True))
    assert {"example_replicas", "required_tags", "cost_limit"} <= set(listed)
    html = response.content.decode()
    replicas = html.split('data-policy="example_replicas"')[1].split("</tr>")[0]
    assert "example-config runs at most 5 replicas in prod" in replicas
    assert '<span class="badge bad enforcement"' in replicas and ">mandatory<" in replicas
    assert "<dt>environments</dt><dd>prod</dd>" in replicas
    assert "<dt>templates</dt><dd>example-config</dd>" in replicas
    assert ">shipped<" in replicas and "<code>example_replicas.rego</code>" in replicas
    assert "v1" in replicas and "First version." in replicas
    tags = html.split('data-policy="required_tags"')[1].split("</tr>")[0]
    assert '<span class="scope-all">all</span>' in tags
    cost = html.split('data-policy="cost_limit"')[1].split("</tr>")[0]
    assert "mandatory, overridable" in cost
    assert "No failures in the last 30 days" in html
    assert 'href="/policies/"' in html and 'class="active">Policies</a>' in html  # the nav


def test_a_removed_policy_is_not_listed_and_its_page_is_gone(
    client_as: Any, alice: Any, extra: Path
) -> None:
    (extra / "gone_soon.rego").write_text("package idp.gone_soon\nimport rego.v1\n")
    sync_policies()
    assert "gone_soon" in [
        r["policy"].slug for r in client_as(alice).get("/policies/").context["rows"]
    ]
    (extra / "gone_soon.rego").unlink()
    sync_policies()
    assert Policy.objects.get(slug="gone_soon").removed
    page = client_as(alice).get("/policies/")
    assert "gone_soon" not in [r["policy"].slug for r in page.context["rows"]]
    assert client_as(alice).get("/policies/gone_soon/").status_code == 404
    assert client_as(alice).get("/policies/no_such_policy/").status_code == 404


def test_a_broken_policy_is_shown_prominently_with_its_error(
    client_as: Any, alice: Any, extra: Path
) -> None:
    (extra / "half_written.rego").write_text(BROKEN)
    report = sync_policies()
    error = report.failed["half_written"]
    assert error.startswith("half_written.rego:5:")

    page = client_as(alice).get("/policies/")
    html = page.content.decode()
    alert = html.split('class="alert policy-broken"')[1].split("</section>")[0]
    first_line = error.splitlines()[0]
    assert "1 policy does not load." in alert and first_line in alert
    assert 'href="/policies/half_written/"' in alert
    broken_row = html.split('data-policy="half_written"')[1].split("</tr>")[0]
    assert "does not load" in broken_row and first_line in broken_row

    detail = client_as(alice).get("/policies/half_written/").content.decode()
    assert "This policy does not load." in detail
    assert f'<pre class="sync-error">{error}</pre>' in detail
    assert "No version of this policy has loaded." in detail


def test_the_detail_shows_the_rego_source_and_versions(
    client_as: Any, alice: Any, extra: Path
) -> None:
    path = extra / "replica_cap.rego"
    text = "# METADATA\n# title: Replica cap\n# custom:\n#   enforcement: advisory\n"
    path.write_text(
        text + 'package idp.replica_cap\nimport rego.v1\n\nwarn contains "a" if false\n'
    )
    sync_policies()
    path.write_text(
        text + 'package idp.replica_cap\nimport rego.v1\n\nwarn contains "b" if false\n'
    )
    sync_policies()
    response = client_as(alice).get("/policies/replica_cap/")
    assert response.status_code == 200
    html = response.content.decode()
    source = html.split('<pre class="rego-source">')[1].split("</pre>")[0]
    assert "package idp.replica_cap" in source and "warn contains &quot;b&quot;" in source
    versions = html.split('class="data compact policy-versions"')[1].split("</table>")[0]
    assert versions.index("v2") < versions.index("v1")
    assert "The policy&#x27;s text changed." in versions and "First version." in versions
    assert "Shown with the plan, never blocks" in html  # advisory badge
    assert "<code>replica_cap.rego</code>" in html and ">extra<" in html


def test_failures_are_counted_only_for_the_teams_a_user_sees(
    client_as: Any, alice: Any, carol: Any, platform_admin: Any, failures: dict[str, list[Any]]
) -> None:
    mine = row(client_as(alice).get("/policies/"), "example_replicas")
    assert mine["failures"] == 2
    assert [(t["team"], t["runs"]) for t in mine["teams"]] == [("payments", 2)]

    page = client_as(carol).get("/policies/")
    theirs = row(page, "example_replicas")
    assert theirs["failures"] == 1
    assert [(t["team"], t["runs"]) for t in theirs["teams"]] == [("search", 1)]
    table = page.context["table"]
    assert table["series"] == ["example_replicas"] and table["total"] == 1
    html = page.content.decode()
    assert 'data-team="payments"' not in html and "Payments" not in html

    everyone = row(client_as(platform_admin).get("/policies/"), "example_replicas")
    assert everyone["failures"] == 3
    assert [(t["team"], t["runs"]) for t in everyone["teams"]] == [("payments", 2), ("search", 1)]


def test_the_detail_lists_recent_failures_of_visible_teams_only(
    client_as: Any, carol: Any, platform_admin: Any, failures: dict[str, list[Any]]
) -> None:
    response = client_as(carol).get("/policies/example_replicas/")
    html = response.content.decode()
    recent = html.split('class="data compact recent-failures"')[1].split("</table>")[0]
    search_run = failures["search"][0]
    assert f'href="/resources/runs/{search_run.pk}/"' in recent
    assert "terraform_data.config" in recent and "prod allows at most 5" in recent
    for run in failures["payments"]:
        assert f"/resources/runs/{run.pk}/" not in html
    assert [t["team"] for t in response.context["teams"]] == ["search"]
    chart = response.context["table"]["chart"]
    assert [d["label"] for d in chart["datasets"]] == ["Search"]
    assert sum(chart["datasets"][0]["data"]) == 1 and len(chart["labels"]) == 30

    admin = client_as(platform_admin).get("/policies/example_replicas/")
    assert [(t["team"], t["runs"]) for t in admin.context["teams"]] == [
        ("payments", 2),
        ("search", 1),
    ]
    assert [d["label"] for d in admin.context["table"]["chart"]["datasets"]] == [
        "Payments",
        "Search",
    ]


def test_a_plan_counts_once_and_only_failures_inside_the_window_count(
    alice: Any, synced: None, teams: dict[str, Team]
) -> None:
    # Two offending resources in one plan are one failed plan run.
    run = plan_run(teams["payments"], "twice")
    judge(run, replicas=9)
    first = PolicyResult.objects.get(run=run, policy__slug="example_replicas")
    first.pk = None
    first.address = "terraform_data.other"
    first.save()
    # A passing plan and a failure older than the window are not counted.
    judge(plan_run(teams["payments"], "fine"), replicas=3)
    old = failing_runs(teams["payments"], 1, prefix="old")[0]
    PolicyResult.objects.filter(run=old).update(created_at=timezone.now() - timedelta(days=31))

    counts = failure_counts(alice)
    assert [(c.policy, c.team, c.runs) for c in counts] == [("example_replicas", "payments", 1)]
    assert counts[0].day == timezone.localdate()


def test_the_list_page_runs_a_bounded_number_of_queries(
    client_as: Any,
    platform_admin: Any,
    extra: Path,
    teams: dict[str, Team],
    django_assert_max_num_queries: Any,
) -> None:
    for index in range(15):
        (extra / f"extra_{index}.rego").write_text(
            "# METADATA\n# custom:\n#   enforcement: mandatory\n"
            f'package idp.extra_{index}\nimport rego.v1\n\ndeny contains "no" if true\n'
        )
    sync_policies()
    for team in teams.values():
        failing_runs(team, 3)
    client = client_as(platform_admin)
    # +2: the approval rules (environments, templates' current versions).
    with django_assert_max_num_queries(10):
        response = client.get("/policies/")
    assert len(response.context["rows"]) == 26  # 7 shipped, 4 approval rules, 15 extra
    # Every extra policy failed every plan (3 per team); example_replicas too.
    assert row(response, "extra_7")["failures"] == 6
