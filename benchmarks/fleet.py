"""Fleet upgrade benchmark: N resources of one template moved to v2 through 2 workers.

The resources are written as provisioned on v1 (half in dev, half in staging: neither asks
for approval) without prior Terraform state, so each held plan creates its
`terraform_data` and each apply makes it: real Terraform runs on a real prefork worker with
2 children, state on the moto server. This process plays the beat sweeper (it advances the
fleet every half second; the workers are nudged on commit as well). Reported: time to the
complete plan summary, applies per minute over the waves, and lost or duplicated runs
(every resource must end with exactly one succeeded plan and one succeeded apply).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import uuid
from typing import Any

from .provision import _ensure_bucket

SLUG = "bench-fleet"


def _template(tag: str) -> tuple[Any, Any, Any]:
    from catalog.models import Template, TemplateVersion

    from .seed import MODULE_MAIN_TF, PARAMETERS_SCHEMA

    template = Template.objects.create(
        slug=f"{SLUG}-{tag}", title=f"Bench fleet {tag}", category="config"
    )
    versions = []
    for number in (1, 2):
        main_tf = MODULE_MAIN_TF + f"# fleet bench version {number}\n"
        versions.append(
            TemplateVersion.objects.create(
                template=template,
                number=number,
                content_hash=hashlib.sha256(f"{tag}:{main_tf}".encode()).hexdigest(),
                files={"main.tf": main_tf},
                parameters_schema=PARAMETERS_SCHEMA,
                approval_policy={},
            )
        )
    template.current_version = versions[1]
    template.save(update_fields=["current_version"])
    return template, versions[0], versions[1]


def _resources(template: Any, v1: Any, count: int, tag: str) -> list[int]:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from idp.models import Environment
    from provisioning.models import Resource

    from .seed import MEMBER_USERNAME

    member = get_user_model().objects.get(username=MEMBER_USERNAME)
    membership = member.memberships.order_by("team__slug").first()
    if membership is None:
        raise RuntimeError(f"{MEMBER_USERNAME} belongs to no team: seed again (--reseed)")
    team = membership.team
    envs = [Environment.objects.get(slug="dev"), Environment.objects.get(slug="staging")]
    now = timezone.now()
    rows = Resource.objects.bulk_create(
        Resource(
            team=team,
            template=template,
            template_version=v1,
            environment=envs[i % 2],
            name=f"fleet-{tag}-{i}",
            parameters={"value": f"fleet-{i}"},
            status="provisioned",
            provisioned_at=now,
        )
        for i in range(count)
    )
    return [r.pk for r in rows]


def _audit(fleet: Any, ids: list[int]) -> dict[str, int]:
    """Lost and duplicated runs: each resource needs exactly one succeeded plan and apply."""
    from django.db.models import Count, Q

    from provisioning.models import Resource

    rows = Resource.objects.filter(pk__in=ids).annotate(
        plans=Count("runs", filter=Q(runs__kind="plan")),
        applies=Count("runs", filter=Q(runs__kind="apply")),
        good_applies=Count("runs", filter=Q(runs__kind="apply", runs__status="succeeded")),
    )
    lost = duplicated = 0
    for row in rows.values("plans", "applies", "good_applies", "template_version_id"):
        if row["good_applies"] == 0 or row["template_version_id"] != fleet.target_version_id:
            lost += 1
        if row["plans"] > 1 or row["applies"] > 1:
            duplicated += 1
    return {"lost": lost, "duplicated": duplicated}


def _run(count: int, log: Any) -> dict[str, Any]:
    import redis
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from fleet import actions
    from fleet.models import FleetUpgrade

    from .environment import BROKER_URL
    from .seed import ADMIN_USERNAME
    from .services_procs import CeleryWorker, MotoServer

    redis.Redis.from_url(BROKER_URL).flushdb()
    tag = uuid.uuid4().hex[:6]
    template, v1, v2 = _template(tag)
    ids = _resources(template, v1, count, tag)
    admin = get_user_model().objects.get(username=ADMIN_USERNAME)
    with tempfile.TemporaryDirectory(prefix="idp-bench-fleet-") as work, MotoServer() as moto:
        os.environ["AWS_ENDPOINT_URL"] = moto.url
        os.environ["IDP_WORK_DIR"] = work
        settings.AWS_ENDPOINT_URL = moto.url
        _ensure_bucket()
        with CeleryWorker(2):
            log(f"  fleet: {count} resources to v2 through 2 workers")
            started = time.perf_counter()
            fleet = actions.start_fleet_upgrade(
                actor=admin,
                template=template,
                version=v2.number,
                selection={"kind": "resources", "resources": ids},
                waves=[["dev"], ["staging"]],
                parallelism=20,
            )
            planned_seconds = None
            deadline = time.monotonic() + 120 + count * 6
            while time.monotonic() < deadline:
                actions.advance(fleet.pk)  # as the beat sweeper would
                fleet = FleetUpgrade.objects.get(pk=fleet.pk)
                if planned_seconds is None and fleet.planned_at is not None:
                    planned_seconds = time.perf_counter() - started
                    log(f"  fleet: plan summary complete after {planned_seconds:.1f}s")
                if fleet.status in ("completed", "paused", "cancelled"):
                    break
                time.sleep(0.5)
            total = time.perf_counter() - started
    progress = actions.progress(fleet)
    applied = progress["counts"].get("applied", 0)
    apply_seconds = (
        (fleet.finished_at - fleet.planned_at).total_seconds()
        if fleet.finished_at and fleet.planned_at
        else None
    )
    result = {
        "available": True,
        "resources": count,
        "workers": 2,
        "status": fleet.status,
        "plan_summary_seconds": round(planned_seconds, 1) if planned_seconds else None,
        "apply_seconds": round(apply_seconds, 1) if apply_seconds else None,
        "applies_per_minute": round(60 * applied / apply_seconds, 1) if apply_seconds else None,
        "total_seconds": round(total, 1),
        "counts": progress["counts"],
        "groups": {g["group"]: g["count"] for g in actions.groups(fleet)},
        **_audit(fleet, ids),
    }
    _clean_up(fleet, ids, template)
    return result


def _clean_up(fleet: Any, ids: list[int], template: Any) -> None:
    """Leave the seeded database as it was (the audit log keeps what happened)."""
    from provisioning.models import Resource

    fleet.delete()
    Resource.objects.filter(pk__in=ids).delete()
    template.current_version = None
    template.save(update_fields=["current_version"])
    template.versions.all().delete()
    template.delete()


def engine_available() -> str | None:
    """Why fleet upgrades cannot be benchmarked, or None when they can."""
    try:
        from fleet import actions  # noqa: F401
        from provisioning.engine import runner  # noqa: F401
    except ImportError as exc:
        return f"fleet or the provisioning engine not importable: {exc}"
    return None


def run_section(results: Any, *, quick: bool, size: int | None, log: Any) -> None:
    """Fill `results` with the fleet upgrade figures, or say plainly why they are missing."""
    count = size or (40 if quick else 500)
    goals = [
        (f"{count} resources: plan summary (s)", "≤ 60"),
        (f"{count} resources: applies per minute, 2 workers", "≥ 300"),
        (f"{count} resources: lost or duplicated runs", "0"),
    ]
    problem = engine_available()
    section: dict[str, Any] = {}
    if problem is None:
        try:
            section = _run(count, log)
        except Exception as exc:  # noqa: BLE001 - the report must say what went wrong
            problem = f"fleet benchmark failed: {type(exc).__name__}: {exc}"
    if problem is not None:
        log(f"  fleet: not available ({problem})")
        results.sections["fleet"] = {"available": False, "reason": problem}
        for name, goal in goals:
            results.target("fleet", name, None, goal, None, "not available")
        return
    results.sections["fleet"] = section
    done = section["status"] == "completed"
    note = "" if done else f"ended {section['status']}"
    summary, rate = section["plan_summary_seconds"], section["applies_per_minute"]
    # The goals are for 500 through 2 workers; a smaller fleet is only reported.
    full = count >= 500
    results.target("fleet", goals[0][0], summary, goals[0][1] if full else "reported",
                   summary is not None and (not full or summary <= 60), note)  # fmt: skip
    results.target("fleet", goals[1][0], rate, goals[1][1] if full else "reported",
                   rate is not None and (not full or rate >= 300), note)  # fmt: skip
    bad = section["lost"] + section["duplicated"]
    results.target("fleet", goals[2][0], bad, goals[2][1], bad == 0 and done,
                   f"lost {section['lost']}, duplicated {section['duplicated']}")  # fmt: skip
