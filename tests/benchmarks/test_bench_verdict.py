"""How a run ends: every FAIL and every section without figures named, and a non-zero exit;
what the results file says about the machine; which pages are measured."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse

from benchmarks import __main__ as bench
from benchmarks import environment, report
from benchmarks.pages import pages


@pytest.fixture
def results(tmp_path: Any, monkeypatch: Any) -> report.Results:
    monkeypatch.setattr(report, "RESULTS_DIR", tmp_path)
    return report.Results("verdict")


def test_a_section_that_raises_is_not_available_and_the_run_exits_non_zero(
    results: report.Results, capsys: Any
) -> None:
    def broken() -> None:
        raise RuntimeError("the engine moved")

    results.target("policies", "evaluation p95", 3.0, "≤ 10 ms", True)
    bench.run_section(results, "provision", broken, log=lambda *_: None)
    bench.run_section(results, "policies", lambda: None, log=lambda *_: None)

    assert bench.finish(results, log=print) == 1
    out = capsys.readouterr().out
    assert (
        "NOT AVAILABLE provision: section ran not available: RuntimeError: the engine moved" in out
    )
    assert out.rstrip().splitlines()[-1] == "bench: 0 FAIL, 1 not available: provision: section ran"
    data = json.loads(results.write().read_text())
    assert [t["passed"] for t in data["targets"]] == [True, None]


def test_fail_lines_are_printed_and_counted_and_a_clean_run_exits_zero(
    results: report.Results, capsys: Any
) -> None:
    results.target("load", "inbox_admin p95, 2 users", 80.0, "≤ 50 ms", True)
    assert bench.finish(results, log=print) == 0
    assert "bench: all 1 targets PASS" in capsys.readouterr().out

    results.target("load", "inbox_member p95, 2 users", 80.0, "≤ 50 ms", False)
    results.target("fleet", "applies per minute", None, "≥ 20", None, "not available")
    assert bench.finish(results, log=print) == 1
    out = capsys.readouterr().out
    assert "FAIL load: inbox_member p95, 2 users = 80.00 (goal ≤ 50 ms)" in out
    assert out.rstrip().splitlines()[-1] == (
        "bench: 1 FAIL, 1 not available: load: inbox_member p95, 2 users, fleet: applies per minute"
    )
    table = report.markdown(json.loads(results.write().read_text()))
    assert "1 FAIL, 1 not available: load: inbox_member p95, 2 users" in table


def test_a_page_answering_5xx_under_load_is_a_missing_figure_not_a_pass(
    results: report.Results,
) -> None:
    def row(key: str, status: int, rps: float, failures: int = 0) -> dict[str, Any]:
        return {
            "key": key, "title": key, "is_list": key != "resource_admin", "status": status,
            "available": status == 200, "requests": 100, "failures": failures, "rps": rps,
            "p95_ms": 40.0, "pct_of_ceiling": rps,
        }  # fmt: skip

    section = {"workers": 5, "users": 2, "seconds": 5, "pages": [
        row("ceiling", 200, 100.0), row("inbox_admin", 500, 0.0),
        row("resource_admin", 200, 21.0), row("inbox_member", 200, 24.0, failures=3),
    ]}  # fmt: skip
    bench.add_load_section(results, "load", section, [])

    verdicts = {t.name: t.passed for t in results.targets}
    assert verdicts["inbox_admin p95, 2 users"] is None
    assert verdicts["inbox_admin throughput"] is None
    assert verdicts["resource_admin throughput"] is True  # detail pages: ≥ 20 %
    assert verdicts["inbox_member throughput"] is False  # list pages: ≥ 25 %
    assert verdicts["inbox_member failed requests, 2 users"] is False
    assert results.exit_code() == 1
    goals = {t.name: t.goal for t in results.targets}
    assert goals["resource_admin p95, 2 users"] == "≤ 50 ms"
    bench.add_load_section(results, "load_queued", {**section, "users": 5}, [])
    assert {t.goal for t in results.targets if t.name.endswith("p95, 5 users")} == {"≤ 100 ms"}


def test_query_lines_pin_each_page_at_both_sizes(results: report.Results) -> None:
    summary = [
        {"page": "resource_admin", "rows_small": 1, "rows_large": 31, "queries_small": 11,
         "queries_large": 13, "max_queries": 12, "verdict": "GROWS with rows"},
        {"page": "inbox_member", "rows_small": 3, "rows_large": 103, "queries_small": 0,
         "queries_large": 0, "max_queries": 12, "verdict": "not available (HTTP 500/500)"},
    ]  # fmt: skip
    bench.add_query_targets(results, summary)

    lines = {t.name: (t.goal, t.passed) for t in results.targets}
    assert lines["resource_admin queries, 1 rows (small)"] == ("≤ 12", True)
    assert lines["resource_admin queries, 31 rows (large)"] == ("≤ 12", False)
    assert lines["resource_admin queries independent of rows"] == ("≤ 11", False)
    assert lines["inbox_member queries, 3 rows (small)"][1] is None


def test_the_results_name_the_machine_and_its_load_at_start(results: report.Results) -> None:
    results.machine["postgresql"] = environment.postgresql_version()
    machine = json.loads(results.write().read_text())["machine"]

    assert machine["hostname"] and machine["cores"] >= 1 and machine["cpu"]
    assert machine["memory_gb"] > 0 and machine["python"].startswith("3.")
    assert machine["postgresql"] and machine["postgresql"][0].isdigit()
    assert len(machine["load_average_at_start"]) == 3


def test_every_page_is_measured_for_the_member_and_the_platform_admin() -> None:
    measured = {p.key: p for p in pages(service_slug="svc-000001", resource_id=7)}

    for kind in ("api_resources", "portal_resources", "catalog", "inbox", "service", "resource"):
        assert measured[f"{kind}_member"].user == "member"
        assert measured[f"{kind}_admin"].user == "admin"
        assert measured[f"{kind}_admin"].path == measured[f"{kind}_member"].path
    assert measured["inbox_admin"].path == reverse("provisioning:approvals")
    assert measured["resource_admin"].path == reverse("provisioning:resource_detail", args=[7])
    assert measured["resource_admin"].max_queries == 12
    assert measured["inbox_member"].is_list and not measured["resource_member"].is_list
    assert next(iter(measured)) == "ceiling"
