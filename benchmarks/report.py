"""Results: targets with pass/fail, a JSON file in benchmarks/results/, a printed table."""

from __future__ import annotations

import json
import os
import platform
import re
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

RESULTS_DIR = Path(__file__).resolve().parent / "results"
STAMP = "%Y-%m-%dT%H:%M:%S+0000"


@dataclass
class Target:
    section: str
    name: str
    value: float | None
    goal: str
    passed: bool | None  # None: not measured (section not available)
    note: str = ""


@dataclass
class Results:
    name: str
    started_at: str = field(default_factory=lambda: datetime.now(UTC).strftime(STAMP))
    # What the numbers were measured on, and how busy it was when the run started.
    machine: dict[str, Any] = field(default_factory=lambda: machine(load_average=True))
    sections: dict[str, Any] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)

    def target(
        self, section: str, name: str, value: float | None, goal: str, passed: bool | None,
        note: str = "",
    ) -> None:  # fmt: skip
        self.targets.append(Target(section, name, value, goal, passed, note))

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "started_at": self.started_at,
            "machine": self.machine,
            "sections": self.sections,
            "targets": [t.__dict__ for t in self.targets],
        }

    def write(self) -> Path:
        """Write (or rewrite, after each section) this run's JSON file."""
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        stamp = self.started_at.replace("-", "").replace(":", "").replace("+0000", "Z")
        path = RESULTS_DIR / f"{self.name}-{stamp}.json"
        path.write_text(json.dumps(self.as_dict(), indent=2, default=str) + "\n")
        return path

    def unavailable(self, section: str, problem: str) -> None:
        """A section that could not produce its figures: a line that fails the run."""
        self.target(section, "section ran", None, "figures", None, f"not available: {problem}")

    def failed(self) -> list[Target]:
        return [t for t in self.targets if t.passed is False]

    def not_available(self) -> list[Target]:
        return [t for t in self.targets if t.passed is None]

    def verdict(self) -> str:
        """The run in one line: every FAIL and every line without figures, by name."""
        failed, missing = self.failed(), self.not_available()
        if not failed and not missing:
            return f"bench: all {len(self.targets)} targets PASS"
        names = ", ".join(f"{t.section}: {t.name}" for t in failed + missing)
        return f"bench: {len(failed)} FAIL, {len(missing)} not available: {names}"

    def exit_code(self) -> int:
        """Non-zero when any target failed or could not be measured."""
        return 1 if self.failed() or self.not_available() else 0


def machine(*, load_average: bool = False) -> dict[str, Any]:
    """What the numbers were measured on (and, when asked, the load average right now)."""
    cpu = platform.processor() or platform.machine()
    try:
        text = Path("/proc/cpuinfo").read_text()
        match = re.search(r"model name\s*:\s*(.+)", text)
        cpu = match.group(1).strip() if match else cpu
    except OSError:
        pass
    memory_gb = None
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        memory_gb = round(pages * size / 2**30, 1)
    except (ValueError, OSError):
        pass
    described: dict[str, Any] = {
        "hostname": socket.gethostname(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "python": platform.python_version(),
        "postgresql": None,  # filled in once the database answers
        "system": f"{platform.system()} {platform.release()}",
    }
    if load_average:
        try:
            described["load_average_at_start"] = [round(v, 2) for v in os.getloadavg()]
        except OSError:
            described["load_average_at_start"] = None
    return described


def summarise_queries(results: list[Any]) -> list[dict[str, Any]]:
    """One row per page: queries with few and with many rows, and the verdict."""
    rows = []
    for r in results:
        if not r.available:
            verdict = f"not available (HTTP {r.status_small}/{r.status_large})"
        else:
            verdict = "independent" if r.independent else "GROWS with rows"
        rows.append(
            {
                "page": r.key,
                "path": r.path,
                "rows_small": r.rows_small,
                "rows_large": r.rows_large,
                "queries_small": r.queries_small,
                "queries_large": r.queries_large,
                "max_queries": r.max_queries,
                "status": [r.status_small, r.status_large],
                "verdict": verdict,
                "slowest_query_ms": round(r.slowest_ms, 1),
                "slowest_query": r.slowest_sql[:2000],
            }
        )
    return rows


# One user per core, then one per gunicorn worker (see benchmarks.__main__.load_levels).
LOAD_SECTIONS = ("load", "load_queued")


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def print_summary(results: Results, console: Console | None = None) -> None:
    console = console or Console(width=max(Console().width, 130))
    m = results.machine
    console.print(
        f"[bold]IDP benchmark[/bold] {results.name} at {results.started_at} on "
        f"{m['hostname']} ({m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, "
        f"PostgreSQL {m.get('postgresql') or '?'}), load average at start "
        f"{m.get('load_average_at_start')}",
        soft_wrap=True,
    )
    for key in LOAD_SECTIONS:
        section = results.sections.get(key, {})
        if not section.get("pages"):
            continue
        table = Table(
            title=f"Load (gunicorn {section['workers']} workers on loopback, locust headless, "
            f"{section['users']} users)"
        )
        for col in ("page", "req/s", "p50 ms", "p95 ms", "p99 ms", "% ceiling", "failures",
                    "queries"):  # fmt: skip
            table.add_column(col, justify="left" if col == "page" else "right")
        for row in section["pages"]:
            table.add_row(
                row["title"],
                _fmt(row.get("rps")),
                _fmt(row.get("p50_ms"), 0),
                _fmt(row.get("p95_ms"), 0),
                _fmt(row.get("p99_ms"), 0),
                _fmt(row.get("pct_of_ceiling"), 0),
                _fmt(row.get("failures"), 0),
                _fmt(row.get("queries")),
            )
        console.print(table)
    q = results.sections.get("queries", {}).get("pages", [])
    if q:
        table = Table(title="SQL queries per request at two data sizes")
        for col in ("page", "rows (small→large)", "queries (small→large)", "verdict"):
            table.add_column(col)
        for row in q:
            table.add_row(
                row["page"],
                f"{row['rows_small']} → {row['rows_large']}",
                f"{row['queries_small']} → {row['queries_large']}",
                row["verdict"],
            )
        console.print(table)
    prov = results.sections.get("provision", {})
    if prov.get("available"):
        table = Table(title="Provisioning (fixture module, S3 state on moto, real worker)")
        table.add_column("measure")
        table.add_column("value", justify="right")
        table.add_row("raw Terraform init+plan+apply, mean s", _fmt(prov["raw_seconds"]["mean"], 2))
        table.add_row("platform POST → provisioned, mean s",
                      _fmt(prov["platform_seconds"]["mean"], 2))  # fmt: skip
        table.add_row("ratio", _fmt(prov["ratio"], 2))
        for phase, seconds in prov["platform_seconds"].get("profile_mean", {}).items():
            table.add_row(f"  platform phase: {phase}, mean s", _fmt(seconds, 3))
        table.add_row("submit → plan start p50 / p95 ms",
                      f"{_fmt(prov['plan_start_ms']['p50'], 0)} / "
                      f"{_fmt(prov['plan_start_ms']['p95'], 0)}")  # fmt: skip
        for key in ("one_worker", "two_workers"):
            t = prov[key]
            table.add_row(f"{t['resources']} resources, {t['workers']} worker(s)",
                          f"{t['total_seconds']} s, {t['per_minute']}/min, "
                          f"{t['failures']} failures")  # fmt: skip
        console.print(table)
    table = Table(title="Targets")
    for col in ("section", "target", "value", "goal", "result"):
        table.add_column(col)
    for t in results.targets:
        verdict = (
            "[yellow]n/a[/yellow]" if t.passed is None
            else "[green]PASS[/green]" if t.passed else "[red]FAIL[/red]"
        )  # fmt: skip
        table.add_row(t.section, t.name, _fmt(t.value, 2), t.goal, verdict + (
            f" {t.note}" if t.note else ""))  # fmt: skip
    console.print(table)
    # Plain lines, so a FAIL or a missing figure is never lost in a wide table or a log.
    for t in results.failed():
        console.print(f"FAIL {t.section}: {t.name} = {_fmt(t.value, 2)} (goal {t.goal})",
                      markup=False, highlight=False, soft_wrap=True)  # fmt: skip
    for t in results.not_available():
        console.print(f"NOT AVAILABLE {t.section}: {t.name} {t.note}".rstrip(),
                      markup=False, highlight=False, soft_wrap=True)  # fmt: skip
    console.print(results.verdict(), markup=False, highlight=False, soft_wrap=True)


def markdown(data: dict[str, Any]) -> str:
    """A results file as Markdown tables, for the README."""
    m = data["machine"]
    load = m.get("load_average_at_start")
    lines = [
        f"Measured {data['started_at']} on {m['cpu']}, {m['cores']} cores, "
        f"{m['memory_gb']} GB, Python {m['python']}"
        + (f", PostgreSQL {m['postgresql']}" if m.get("postgresql") else "")
        + (f"; load average at start {', '.join(str(v) for v in load)}" if load else "")
        + ".",
        "",
    ]
    for key in LOAD_SECTIONS:
        load = data["sections"].get(key, {})
        if not load.get("pages"):
            continue
        lines += [
            f"Load: gunicorn {load['workers']} workers, {load['users']} locust users, "
            f"{load['seconds']} s per page.",
            "",
            "| page | req/s | p50 ms | p95 ms | p99 ms | % of ceiling | queries |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in load["pages"]:
            lines.append(
                f"| {r['title']} | {_fmt(r['rps'])} | {_fmt(r['p50_ms'], 0)} | "
                f"{_fmt(r['p95_ms'], 0)} | {_fmt(r['p99_ms'], 0)} | "
                f"{_fmt(r['pct_of_ceiling'], 0)} | {_fmt(r.get('queries'))} |"
            )
        lines.append("")
    lines += ["| section | target | value | goal | result |", "|---|---|---:|---|---|"]
    for t in data["targets"]:
        verdict = "n/a" if t["passed"] is None else "PASS" if t["passed"] else "FAIL"
        note = f" ({t['note']})" if t.get("note") else ""
        lines.append(
            f"| {t['section']} | {t['name']} | {_fmt(t['value'], 2)} | {t['goal']} | "
            f"{verdict}{note} |"
        )
    failed = [t for t in data["targets"] if t["passed"] is False]
    missing = [t for t in data["targets"] if t["passed"] is None]
    names = ", ".join(f"{t['section']}: {t['name']}" for t in failed + missing)
    lines += [
        "",
        f"{len(failed)} FAIL, {len(missing)} not available" + (f": {names}." if names else "."),
    ]
    return "\n".join(lines) + "\n"
