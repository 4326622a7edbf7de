"""`python -m benchmarks [--quick] [--only seed|queries|load|provision|recovery|policies|catalog
|sources|fleet|statecache|whatif ...]`: run and report."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from . import environment

SECTIONS = (
    "seed",
    "queries",
    "load",
    "provision",
    "recovery",
    "policies",
    "catalog",
    "sources",
    "fleet",
    "statecache",
    "whatif",
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small scale, short runs")
    parser.add_argument(
        "--only", action="append", choices=SECTIONS, help="run only this section (repeatable)"
    )
    parser.add_argument("--name", default=None, help="results file name (default full/quick)")
    parser.add_argument("--reseed", action="store_true", help="recreate idp_bench and seed again")
    parser.add_argument("--seconds", type=int, default=None, help="load duration per page")
    parser.add_argument(
        "--users",
        type=int,
        default=None,
        help="concurrent locust users (default: one per core, then one per gunicorn worker)",
    )
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers")
    parser.add_argument(
        "--provision-count",
        type=int,
        default=None,
        help="resources for the raw-vs-platform comparison (default 20)",
    )
    parser.add_argument(
        "--throughput-count",
        type=int,
        default=None,
        help="resources through 1 and 2 workers (default 200)",
    )
    parser.add_argument(
        "--fleet-size",
        type=int,
        default=None,
        help="resources of the fleet upgrade through 2 workers (default 500; --quick 40)",
    )
    parser.add_argument(
        "--state-count",
        type=int,
        default=None,
        help="resources whose state is read with and without the cache (default 1000)",
    )
    parser.add_argument("--markdown", metavar="RESULTS_JSON",
                        help="print a results file as Markdown and exit")  # fmt: skip
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.markdown:
        import json
        from pathlib import Path

        from .report import markdown

        print(markdown(json.loads(Path(args.markdown).read_text())))
        return 0
    # SIGTERM unwinds like Ctrl-C, so gunicorn, the worker and moto are stopped on the way out.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    environment.configure()
    import django

    django.setup()

    from . import load, queries, seed
    from .pages import api_token, pages, session_cookie
    from .report import Results, summarise_queries

    sections = set(args.only or SECTIONS)
    scale = seed.QUICK if args.quick else seed.FULL
    results = Results(args.name or ("quick" if args.quick else "full"))
    results.machine["postgresql"] = environment.postgresql_version()
    log: Any = print

    log(f"database {environment.database_url()} (scale {seed.scale_dict(scale)})")
    try:
        seeded = ensure_seeded(scale, reseed=args.reseed, results=results, log=log)
    except Exception as error:  # nothing else can be measured: say so and fail the run
        log(traceback.format_exc())
        results.unavailable("seed", _problem(error))
        for name in sorted(sections - {"seed"}, key=SECTIONS.index):
            results.unavailable(name, "the seed failed")
        return finish(results, log)
    from idp.rbac import permissions_changed

    permissions_changed()  # the seed writes memberships in bulk, past the signals

    query_rows: list[Any] = []

    def run_queries() -> None:
        log("queries per request at two data sizes…")
        query_rows.extend(queries.measure(grow_by=300))
        summary = summarise_queries(query_rows)
        results.sections["queries"] = {"pages": summary}
        add_query_targets(results, summary)

    def run_load() -> None:
        from django.contrib.auth import get_user_model

        User = get_user_model()
        member, admin = User.objects.get(pk=seeded.member_id), User.objects.get(pk=seeded.admin_id)
        credentials = {
            "member": {"token": api_token(member), "session": session_cookie(member)},
            "admin": {"token": api_token(admin), "session": session_cookie(admin)},
        }
        from django.db import connections

        connections.close_all()
        measured = pages(service_slug=seeded.service_slug, resource_id=seeded.resource_id)
        workers = args.workers or load.default_workers()
        seconds = args.seconds or (5 if args.quick else 20)
        for key, users in load_levels(args.users, workers):
            log(f"{key}: gunicorn {workers} workers, {users} locust users, {seconds}s per page")
            section = load.run(
                measured, credentials, workers=workers, users=users, seconds=seconds, log=log
            )
            add_load_section(results, key, section, query_rows)

    def run_provision() -> None:
        from . import provision

        provision.run_section(
            results,
            quick=args.quick,
            count=args.provision_count,
            throughput_count=args.throughput_count,
            log=log,
        )

    def run_recovery() -> None:
        from . import recovery

        log("recovery: a worker killed mid-apply, reaped by the beat schedule…")
        recovery.run_section(results, log=log)

    def run_policies() -> None:
        from . import policies

        policies.run_section(results, log=log)

    def run_catalog() -> None:
        from . import catalog

        catalog.run_section(results, quick=args.quick, log=log)

    def run_sources() -> None:
        from . import sources

        sources.run_section(results, log=log)

    def run_fleet() -> None:
        from . import fleet

        fleet.run_section(results, quick=args.quick, size=args.fleet_size, log=log)

    def run_statecache() -> None:
        from . import statecache

        log("state cache: state reads with and without the cache…")
        statecache.run_section(results, count=args.state_count, log=log)

    def run_whatif() -> None:
        from . import policies

        policies.run_whatif_section(results, log=log)

    runners = {
        "queries": run_queries,
        "load": run_load,
        "provision": run_provision,
        "recovery": run_recovery,
        "policies": run_policies,
        "catalog": run_catalog,
        "sources": run_sources,
        "fleet": run_fleet,
        "statecache": run_statecache,
        "whatif": run_whatif,
    }
    for name, body in runners.items():
        if name in sections:
            run_section(results, name, body, log)
    return finish(results, log)


def _problem(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".strip()[:300]


def run_section(results: Any, name: str, body: Callable[[], None], log: Any) -> None:
    """Run one section; one that raises is recorded as not available (failing the run) and
    the sections after it still run. The results file is rewritten after each."""
    try:
        body()
    except Exception as error:
        log(traceback.format_exc())
        log(f"  {name}: not available ({_problem(error)})")
        results.unavailable(name, _problem(error))
    results.write()


def finish(results: Any, log: Any) -> int:
    """Write and print the results; the exit code: non-zero when any line FAILed or has no
    figures, so `make bench` fails loudly."""
    from .report import print_summary

    path = results.write()
    shown = path.relative_to(environment.REPO) if path.is_relative_to(environment.REPO) else path
    log(f"results written to {shown}")
    print_summary(results)  # ends with the one-line verdict
    return int(results.exit_code())


def load_levels(users: int | None, workers: int) -> list[tuple[str, int]]:
    """The concurrencies to load at: one user per core (the CPU busy, nothing waiting), then
    one per gunicorn worker (requests queue for the cores); or just the one asked for."""
    if users:
        return [("load", users)]
    cores = os.cpu_count() or 1
    return [("load", cores)] + ([("load_queued", workers)] if workers > cores else [])


# p95 limits of the issue: 50 ms with one user per core (2 here), 100 ms with one per worker.
P95_LIMIT_MS = {"load": 50, "load_queued": 100}
# Throughput as a share of the minimal Django view's, measured in the same run.
THROUGHPUT_LIMIT_PCT = {True: 25, False: 20}  # list pages, detail pages


def add_load_section(results: Any, key: str, section: dict[str, Any], query_rows: Any) -> None:
    by_key = {r.key: r for r in query_rows}
    for row in section["pages"]:
        q = by_key.get(row["key"])
        row["queries"] = q.queries_large if q else None
    results.sections[key] = section
    users = f"{section['users']} users"
    limit = P95_LIMIT_MS.get(key, 100)
    for row in section["pages"]:
        ok = row["available"] and row["requests"] > 0
        note = "" if ok else f"not available (HTTP {row['status']}, {row['requests']} requests)"
        if row["key"] == "ceiling":
            if not ok:
                results.target(key, f"ceiling, {users}", None, "HTTP 200", None, note)
            continue
        results.target(key, f"{row['key']} p95, {users}", row["p95_ms"], f"≤ {limit} ms",
                       (row["p95_ms"] or 1e9) <= limit if ok else None, note)  # fmt: skip
        if ok and row["failures"]:  # errors under load (a 5xx, a redirect) are never silent
            results.target(key, f"{row['key']} failed requests, {users}", row["failures"],
                           "0", False)  # fmt: skip
        if key == "load":  # throughput is the same whether requests queue or not
            floor = THROUGHPUT_LIMIT_PCT[bool(row["is_list"])]
            pct = row["pct_of_ceiling"]
            results.target(key, f"{row['key']} throughput", pct, f"≥ {floor} % of ceiling",
                           pct is not None and pct >= floor if ok else None, note)  # fmt: skip


def add_query_targets(results: Any, summary: list[dict[str, Any]]) -> None:
    """Per page: the queries at each data size within the page's pinned count, and not
    growing with rows."""
    for row in summary:
        if row["page"] == "ceiling":
            continue
        available = not row["verdict"].startswith("not available")
        note = "" if available else row["verdict"]
        limit = row["max_queries"]
        for size in ("small", "large"):
            count = row[f"queries_{size}"]
            results.target(
                "queries", f"{row['page']} queries, {row[f'rows_{size}']} rows ({size})",
                count, f"≤ {limit}", count <= limit if available else None, note,
            )  # fmt: skip
        results.target(
            "queries", f"{row['page']} queries independent of rows",
            row["queries_large"], f"≤ {row['queries_small']}",
            (row["queries_large"] <= row["queries_small"]) if available else None, note,
        )  # fmt: skip


def ensure_seeded(scale: Any, *, reseed: bool, results: Any, log: Any) -> Any:
    """Reuse idp_bench when it already holds this scale (migrated to the code's models);
    otherwise recreate, migrate, seed."""
    from django.db import DatabaseError, connections

    from . import seed

    seeded_already = False
    if not reseed and environment.database_exists():
        try:
            seeded_already = seed.is_seeded(scale)
        except DatabaseError:
            seeded_already = False
    if seeded_already:
        log("idp_bench already seeded at this scale: reusing it (--reseed to start over)")
        # Migrations added since it was seeded (new tables or columns the pages read).
        connections.close_all()
        environment.migrate()
        seed.reopen_waiting()
        seeded = seed.describe()
        results.sections["seed"] = {"reused": True, "counts": seeded.counts}
        return seeded
    connections.close_all()
    log("creating and migrating idp_bench…")
    started = time.perf_counter()
    environment.recreate_database()
    environment.migrate()
    migrate_seconds = time.perf_counter() - started
    log("seeding…")
    seeded = seed.seed(scale)
    log(f"seeded in {seeded.seconds:.1f}s {seeded.stages}: {seeded.counts}")
    from django.db import connection

    with connection.cursor() as cursor:
        # Planner statistics, as autovacuum would gather them on a live database.
        cursor.execute("ANALYZE")
    results.sections["seed"] = {
        "reused": False,
        "seconds": round(seeded.seconds, 1),
        "migrate_seconds": round(migrate_seconds, 1),
        "stages_seconds": seeded.stages,
        "counts": seeded.counts,
        "scale": seed.scale_dict(scale),
    }
    results.target("seed", "bulk seed time (s)", seeded.seconds, "< 120 s", seeded.seconds < 120)
    return seeded


if __name__ == "__main__":
    raise SystemExit(main())
