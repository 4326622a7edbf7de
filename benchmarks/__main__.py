"""`python -m benchmarks [--quick] [--only seed|queries|load|provision|recovery|policies|catalog
|sources|fleet ...]`: run and report."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
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
    from .report import Results, print_summary, summarise_queries

    sections = set(args.only or SECTIONS)
    scale = seed.QUICK if args.quick else seed.FULL
    results = Results(args.name or ("quick" if args.quick else "full"))
    log: Any = print

    log(f"database {environment.database_url()} (scale {seed.scale_dict(scale)})")
    seeded = ensure_seeded(scale, reseed=args.reseed, results=results, log=log)
    from idp.rbac import permissions_changed

    permissions_changed()  # the seed writes memberships in bulk, past the signals

    query_rows: list[Any] = []
    if "queries" in sections:
        log("queries per request at two data sizes…")
        query_rows = queries.measure(grow_by=300)
        summary = summarise_queries(query_rows)
        results.sections["queries"] = {"pages": summary}
        for row in summary:
            available = row["verdict"] != "" and not row["verdict"].startswith("not available")
            results.target(
                "queries", f"{row['page']} queries independent of rows",
                row["queries_large"], f"≤ {row['queries_small']}",
                (row["queries_large"] <= row["queries_small"]) if available else None,
                "" if available else row["verdict"],
            )  # fmt: skip

    results.write()
    if "load" in sections:
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

    results.write()
    if "provision" in sections:
        from . import provision

        provision.run_section(
            results,
            quick=args.quick,
            count=args.provision_count,
            throughput_count=args.throughput_count,
            log=log,
        )

    results.write()
    if "recovery" in sections:
        from . import recovery

        log("recovery: a worker killed mid-apply, reaped by the beat schedule…")
        recovery.run_section(results, log=log)

    results.write()
    if "policies" in sections:
        from . import policies

        policies.run_section(results, log=log)

    results.write()
    if "catalog" in sections:
        from . import catalog

        catalog.run_section(results, quick=args.quick, log=log)

    results.write()
    if "sources" in sections:
        from . import sources

        sources.run_section(results, log=log)

    results.write()
    if "fleet" in sections:
        from . import fleet

        fleet.run_section(results, quick=args.quick, size=args.fleet_size, log=log)

    path = results.write()
    print_summary(results)
    log(f"results written to {path.relative_to(environment.REPO)}")
    return 0


def load_levels(users: int | None, workers: int) -> list[tuple[str, int]]:
    """The concurrencies to load at: one user per core (the CPU busy, nothing waiting), then
    one per gunicorn worker (requests queue for the cores); or just the one asked for."""
    if users:
        return [("load", users)]
    cores = os.cpu_count() or 1
    return [("load", cores)] + ([("load_queued", workers)] if workers > cores else [])


def add_load_section(results: Any, key: str, section: dict[str, Any], query_rows: Any) -> None:
    by_key = {r.key: r for r in query_rows}
    for row in section["pages"]:
        q = by_key.get(row["key"])
        row["queries"] = q.queries_large if q else None
    results.sections[key] = section
    users = f"{section['users']} users"
    for row in section["pages"]:
        if row["key"] == "ceiling":
            continue
        ok = row["available"] and row["requests"] > 0
        note = "" if ok else f"not available (HTTP {row['status']})"
        if row["is_list"]:
            results.target(key, f"{row['key']} p95, {users}", row["p95_ms"], "≤ 50 ms",
                           (row["p95_ms"] or 1e9) <= 50 if ok else None, note)  # fmt: skip
        if key == "load":  # throughput is the same whether requests queue or not
            results.target(key, f"{row['key']} throughput", row["pct_of_ceiling"],
                           "≥ 40 % of ceiling",
                           (row["pct_of_ceiling"] or 0) >= 40 if ok else None, note)  # fmt: skip


def ensure_seeded(scale: Any, *, reseed: bool, results: Any, log: Any) -> Any:
    """Reuse idp_bench when it already holds this scale; otherwise recreate, migrate, seed."""
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
