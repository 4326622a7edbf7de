"""`GET /api/v1/policies/` and `/api/v1/policies/{slug}/`: every policy (paginated), the
detail with its Rego source and versions, failures counted only for the caller's teams."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from idp.models import Team
from policies.services import sync_policies
from tests.utils import assert_error, assert_ok

from .support import failing_runs

pytestmark = pytest.mark.django_db

LIST_FIELDS = {
    "slug",
    "kind",
    "title",
    "description",
    "enforcement",
    "scope",
    "origin",
    "path",
    "version",
    "changelog",
    "sync_error",
    "failures_30d",
}


@pytest.fixture
def extra(tmp_path: Path, settings: Any) -> Path:
    settings.IDP_POLICY_DIRS = [str(tmp_path)]
    return tmp_path


@pytest.fixture
def failures(extra: Path, teams: dict[str, Team]) -> None:
    """payments failed example_replicas on two plans, search on one."""
    assert sync_policies().ok
    failing_runs(teams["payments"], 2)
    failing_runs(teams["search"], 1)


def by_slug(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["slug"]: item for item in body["results"]}


def test_the_list_is_paginated_with_every_field(api_as: Any, alice: Any, failures: None) -> None:
    body = assert_ok(api_as(alice).get("/api/v1/policies/"))
    # 7 deny/warn policies and 4 approval rules.
    assert body["count"] == 11 and body["next"] is None
    policies = by_slug(body)
    assert all(set(item) == LIST_FIELDS for item in body["results"])
    assert policies["example_replicas"] == {
        "slug": "example_replicas",
        "kind": "policy",
        "title": "example-config runs at most 5 replicas in prod",
        "description": "The demo's own rule, so the whole policy path can be tried without AWS.",
        "enforcement": "mandatory",
        "scope": {"environments": ["prod"], "templates": ["example-config"], "teams": []},
        "origin": "shipped",
        "path": "example_replicas.rego",
        "version": 1,
        "changelog": "First version.",
        "sync_error": "",
        "failures_30d": 2,
    }
    assert policies["cost_limit"]["enforcement"] == "mandatory-overridable"
    assert policies["stateful_changes"]["kind"] == "approval"
    assert policies["stateful_changes"]["path"] == "approval/stateful_changes.rego"
    only = assert_ok(api_as(alice).get("/api/v1/policies/?kind=approval"))
    assert [p["slug"] for p in only["results"]] == [
        "cost_share",
        "noop_and_tags",
        "open_to_internet",
        "stateful_changes",
    ]

    page = assert_ok(api_as(alice).get("/api/v1/policies/?kind=policy&page_size=2&page=2"))
    assert [p["slug"] for p in page["results"]] == ["lambda_runtimes", "rds_production"]
    assert_error(api_as(alice).get("/api/v1/policies/?page=9"), 404)


def test_failures_count_only_the_callers_teams(
    api_as: Any, alice: Any, carol: Any, platform_admin: Any, failures: None
) -> None:
    assert (
        by_slug(assert_ok(api_as(carol).get("/api/v1/policies/")))["example_replicas"][
            "failures_30d"
        ]
        == 1
    )
    theirs = assert_ok(api_as(carol).get("/api/v1/policies/example_replicas/"))
    assert theirs["failures_30d"] == 1
    assert theirs["failures_30d_by_team"] == [{"team": "search", "name": "Search", "runs": 1}]

    everyone = assert_ok(api_as(platform_admin).get("/api/v1/policies/example_replicas/"))
    assert everyone["failures_30d"] == 3
    assert [(t["team"], t["runs"]) for t in everyone["failures_30d_by_team"]] == [
        ("payments", 2),
        ("search", 1),
    ]


def test_the_detail_has_the_source_and_versions(api_as: Any, alice: Any, extra: Path) -> None:
    path = extra / "replica_cap.rego"
    path.write_text('package idp.replica_cap\nimport rego.v1\n\nwarn contains "a" if false\n')
    sync_policies()
    path.write_text('package idp.replica_cap\nimport rego.v1\n\nwarn contains "b" if false\n')
    sync_policies()
    body = assert_ok(api_as(alice).get("/api/v1/policies/replica_cap/"))
    assert set(body) == LIST_FIELDS | {"source", "versions", "failures_30d_by_team"}
    assert body["version"] == 2 and 'warn contains "b"' in body["source"]
    assert [(v["number"], v["changelog"]) for v in body["versions"]] == [
        (2, "The policy's text changed."),
        (1, "First version."),
    ]
    assert body["origin"] == "extra" and body["enforcement"] == "advisory"


def test_a_broken_policy_answers_with_its_error(api_as: Any, alice: Any, extra: Path) -> None:
    (extra / "half_written.rego").write_text("package idp.half_written\ndeny contains if {\n")
    error = sync_policies().failed["half_written"]
    body = assert_ok(api_as(alice).get("/api/v1/policies/half_written/"))
    assert body["sync_error"] == error and error.startswith("half_written.rego:")
    assert (body["version"], body["changelog"], body["source"]) == (None, None, None)
    listed = by_slug(assert_ok(api_as(alice).get("/api/v1/policies/")))
    assert listed["half_written"]["sync_error"] == error


def test_filters_and_search(api_as: Any, alice: Any, failures: None) -> None:
    advisory = assert_ok(api_as(alice).get("/api/v1/policies/?enforcement=mandatory-overridable"))
    assert [p["slug"] for p in advisory["results"]] == ["cost_limit"]
    found = assert_ok(api_as(alice).get("/api/v1/policies/?search=replicas"))
    assert [p["slug"] for p in found["results"]] == ["example_replicas"]
    assert_error(api_as(alice).get("/api/v1/policies/?enforcement=strict"), 400)


def test_removed_unknown_and_anonymous(api_as: Any, alice: Any, extra: Path) -> None:
    (extra / "gone_soon.rego").write_text("package idp.gone_soon\nimport rego.v1\n")
    sync_policies()
    assert_ok(api_as(alice).get("/api/v1/policies/gone_soon/"))
    (extra / "gone_soon.rego").unlink()
    sync_policies()
    assert_error(api_as(alice).get("/api/v1/policies/gone_soon/"), 404)
    assert "gone_soon" not in by_slug(assert_ok(api_as(alice).get("/api/v1/policies/")))
    assert_error(api_as(alice).get("/api/v1/policies/nothing_here/"), 404)
    assert_error(api_as(None).get("/api/v1/policies/"), 401)
    assert_error(api_as(None).get("/api/v1/policies/example_replicas/"), 401)


def test_the_policies_are_read_only(api_as: Any, platform_admin: Any, failures: None) -> None:
    client = api_as(platform_admin)
    assert client.post("/api/v1/policies/", {"slug": "x"}, format="json").status_code == 405
    assert client.delete("/api/v1/policies/example_replicas/").status_code == 405
    assert client.patch("/api/v1/policies/example_replicas/", {"title": "x"}).status_code == 405
