"""Policy benchmark: what evaluating every shipped policy adds to a plan run, by plan size.

Plans of 1, 50 and 500 resource changes (a mix of the resource types the shipped policies
judge) go through every shipped policy exactly as a plan run does
(`policies.engine.evaluate_all`: one interpreter, the plan handed over once,
one query). The figures: p95 milliseconds per plan, and how the time per
resource change grows from 50 to 500 changes (linear: about the same).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

SIZES = (1, 50, 500)
GOAL_P95_MS = 300.0  # for the fixture modules' plans (one change)
LINEAR_FACTOR = 2.0  # per-change time at 500 within 2× of per-change time at 50

TAGS = {"idp:team": "payments", "idp:environment": "prod", "idp:resource": "bench"}


def plan_document(changes: int) -> dict[str, Any]:
    """A `show -json`-shaped plan with `changes` resource changes and platform context."""
    kinds = [
        ("aws_s3_bucket", {"bucket": "b", "tags": TAGS}),
        ("aws_s3_bucket_server_side_encryption_configuration", {"rule": []}),
        ("aws_s3_bucket_public_access_block", {"block_public_acls": True,
                                               "block_public_policy": True,
                                               "ignore_public_acls": True,
                                               "restrict_public_buckets": True}),
        ("aws_security_group", {"ingress": [{"from_port": 443, "to_port": 443,
                                             "cidr_blocks": ["0.0.0.0/0"]}], "tags": TAGS}),
        ("aws_lambda_function", {"runtime": "python3.12", "tags": TAGS}),
        ("aws_db_instance", {"multi_az": True, "storage_encrypted": True,
                             "deletion_protection": True, "tags": TAGS}),
        ("terraform_data", {"input": {"message": "hi", "replicas": 2}}),
    ]  # fmt: skip
    resource_changes = []
    for index in range(changes):
        type_, after = kinds[index % len(kinds)]
        resource_changes.append(
            {
                "address": f"{type_}.r{index}",
                "type": type_,
                "mode": "managed",
                "name": f"r{index}",
                "change": {"actions": ["create"], "before": None, "after": after,
                           "after_unknown": {"id": True}},
            }
        )  # fmt: skip
    return {
        "format_version": "1.2",
        "resource_changes": resource_changes,
        "idp": {
            "team": "payments",
            "environment": "prod",
            "template": "example-config",
            "destroy": False,
            "estimated_monthly_cost": 3.0,
            "budget": 1000.0,
            "month_to_date": 10.0,
        },
    }


def measure(sizes: tuple[int, ...] = SIZES, repeats: int = 20) -> list[dict[str, Any]]:
    """Per size: milliseconds per plan (median, p95) through every shipped policy."""
    from policies.engine import Source, evaluate_all
    from policies.loader import SHIPPED_DIR, parse_policy, policy_files

    # The deny/warn policies (approval rules answer another question, after them).
    shipped = [
        p for p in (parse_policy(path) for path in policy_files(SHIPPED_DIR)) if p.kind == "policy"
    ]
    sources = [Source(p.slug, 1, p.package, p.source) for p in shipped]
    rows = []
    for size in sizes:
        document = plan_document(size)
        times = []
        for _ in range(max(2, repeats if size <= 50 else repeats // 4)):
            started = time.perf_counter()
            evaluate_all(sources, document)  # as a plan run does: every policy, one hand-over
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        rows.append(
            {
                "changes": size,
                "policies": len(shipped),
                "runs": len(times),
                "median_ms": round(statistics.median(times), 2),
                "p95_ms": round(p95, 2),
                "ms_per_change": round(statistics.median(times) / size, 4),
            }
        )
    return rows


def run_section(results: Any, *, log: Any) -> None:
    log("policies: every shipped policy on plans of 1, 50 and 500 resource changes…")
    rows = measure()
    results.sections["policies"] = {"plans": rows}
    by_size = {row["changes"]: row for row in rows}
    one = by_size[1]["p95_ms"]
    results.target("policies", "evaluation p95, 1 change (ms)", one, f"≤ {GOAL_P95_MS:.0f} ms",
                   one <= GOAL_P95_MS)  # fmt: skip
    growth = by_size[500]["ms_per_change"] / by_size[50]["ms_per_change"]
    results.target(
        "policies",
        "time per change, 500 vs 50 changes (×)",
        round(growth, 2),
        f"≤ {LINEAR_FACTOR:.0f}× (linear)",
        growth <= LINEAR_FACTOR,
        f"p95 {by_size[50]['p95_ms']} ms at 50, {by_size[500]['p95_ms']} ms at 500",
    )


# --- what-if: a draft replayed on the stored plans ---------------------------------------

WHATIF_PLANS = 10_000
WHATIF_GOAL_S = 60.0
WHATIF_DRAFT = """# METADATA
# title: At most 3 replicas (benchmark draft)
# custom:
#   enforcement: mandatory
package idp.bench_whatif

import rego.v1

deny contains msg if {
	some rc in input.resource_changes
	replicas := object.get(rc.change.after, ["input", "replicas"], 0)
	replicas > 3
	msg := sprintf("%v asks for %v replicas", [rc.address, replicas])
}
"""


def run_whatif_section(results: Any, *, count: int = WHATIF_PLANS, log: Any) -> None:
    """`count` stored plans (7 changes each, their JSON encrypted as plan runs keep it) over
    the seeded resources, one draft replayed on all of them (`policies.whatif.what_if`);
    the plans are removed afterwards."""
    from datetime import timedelta

    from django.utils import timezone

    from idp.crypto import encrypt_json
    from policies.whatif import what_if
    from provisioning.choices import RunKind, RunStatus
    from provisioning.models import Resource, Run

    log(f"what-if: one draft policy replayed on {count:,} stored plans…")
    resources = list(Resource.objects.values_list("pk", "template_version_id")[:1000])
    if not resources:
        raise RuntimeError("no seeded resources to hang the plans on")
    document = plan_document(7)
    document.pop("idp")
    when = timezone.now() - timedelta(days=1)
    runs = []
    for index in range(count):
        document["resource_changes"][6]["change"]["after"]["input"]["replicas"] = index % 6
        resource_id, version_id = resources[index % len(resources)]
        runs.append(
            Run(
                resource_id=resource_id,
                template_version_id=version_id,
                kind=RunKind.PLAN,
                status=RunStatus.SUCCEEDED,
                plan_document=encrypt_json(document),
                policy_summary={"blocking": 0, "results": []},
            )
        )
    made = Run.objects.bulk_create(runs, batch_size=1000)
    ids = [run.pk for run in made]
    Run.objects.filter(pk__in=ids).update(created_at=when)
    try:
        started = time.perf_counter()
        answer = what_if(WHATIF_DRAFT, name="bench_whatif.rego", days=2)
        seconds = time.perf_counter() - started
    finally:
        Run.objects.filter(pk__in=ids).delete()
    results.sections["whatif"] = {
        "plans": answer.plans,
        "seconds": round(seconds, 2),
        "newly_blocked": answer.newly_blocked,
        "plans_per_second": round(answer.plans / seconds, 1) if seconds else None,
    }
    results.target(
        "whatif",
        f"replay one draft on {count:,} stored plans (s)",
        round(seconds, 2),
        f"≤ {WHATIF_GOAL_S:.0f} s",
        seconds <= WHATIF_GOAL_S and answer.plans >= count,
        f"{answer.plans:,} plans replayed, {answer.newly_blocked:,} newly blocked",
    )
