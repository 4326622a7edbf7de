"""State cache benchmark: the state reads of N resources (1,000 by default) with and
without the cache (`provisioning.engine.state_cache`), at two state sizes.

What is read is what the platform itself reads from a resource's state: the serial and
lineage each plan's and apply's start records and the reaper compares (a dependant's plan
and the plan accepting drift included). A drift check's own reading of the state is
Terraform's (its S3 backend, in the run), not the platform's, and dependency values come
from the upstream's recorded outputs, not from S3: neither has a platform read to cache.
Without the cache, as before it: a GetObject of the whole state and its JSON parsed
(`StateVersion.of_document(read_state(...))`). With it, while the state is unchanged: one
HeadObject and one database row. Also reported: the first pass (cache empty: HeadObject,
GetObject and the row written) and a pass after a tenth of the states were changed behind
the platform's back (those downloaded again, the rest cached; every answer is checked
against a download: no stale one may be served).

The states are Terraform format-4 documents on the moto server over HTTP: a single-module
resource's (~66 KB) and a large stack's (~1 MB). The cache saves the download and the parse,
not the request: on loopback moto a HeadObject costs about what a small GetObject does, so
for small states the cache is not expected to be faster (its goal: no slower than half
again), while for large ones it must halve the time. The measured passes alternate
(ROUNDS each, the fastest kept), as the machine's other load falls on both alike. The
resources are written for the section and removed after it.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any

from .provision import _ensure_bucket

DEFAULT_COUNT = 1000
STATE_INSTANCES = 30
RATIO_GOAL = 0.5  # cached ≤ half the uncached time
CHANGED_SHARE = 10  # one state in this many is rewritten behind the platform's back
ROUNDS = 5


def state_document(resource_id: int, serial: int, instances: int = STATE_INSTANCES) -> bytes:
    """A state as Terraform's S3 backend stores it: a few resources with many attributes."""
    objects = [
        {
            "index_key": i,
            "schema_version": 0,
            "attributes": {
                "id": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{resource_id}-{i}")),
                "arn": f"arn:aws:ec2:eu-west-1:123456789012:thing/{resource_id}-{i}",
                "tags": {f"tag{t}": f"value-{t}-{resource_id}" for t in range(12)},
                "ingress": [
                    {"from_port": p, "to_port": p, "protocol": "tcp", "cidr": "10.0.0.0/16"}
                    for p in range(6)
                ],
                "description": "x" * 300,
            },
            "sensitive_attributes": [],
            "dependencies": [],
        }
        for i in range(instances)
    ]
    doc = {
        "version": 4,
        "terraform_version": "1.9.0",
        "serial": serial,
        "lineage": str(uuid.uuid5(uuid.NAMESPACE_OID, f"lineage-{resource_id}")),
        "outputs": {
            "endpoint": {"value": f"db-{resource_id}.internal", "type": "string"},
            "password": {"value": f"pw-{resource_id}", "type": "string", "sensitive": True},
        },
        "resources": [
            {
                "mode": "managed",
                "type": "aws_security_group",
                "name": "main",
                "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
                "instances": objects,
            }
        ],
        "check_results": None,
    }
    return json.dumps(doc, indent=2).encode()


# (label, resource instances in each state, goal for cached ÷ uncached, why that goal).
SIZES = (
    ("typical", 30, 1.5, "a small state's download costs about a HeadObject on loopback: "
     "the cache must not make the read much slower"),
    ("large", 460, RATIO_GOAL, "a large state's download and parse are what the cache saves"),
)  # fmt: skip


def run_section(results: Any, *, count: int | None = None, log: Any) -> None:
    """Fill `results` with both times and their ratio at each state size, or say plainly
    why they are missing."""
    count = count or DEFAULT_COUNT
    sections: dict[str, Any] = {}
    for label, instances, goal, why in SIZES:
        name = f"cached ÷ uncached state reads, {count} {label} states"
        try:
            section = _run(count, instances, log)
        except Exception as exc:  # noqa: BLE001 - the report must say what went wrong
            problem = f"state cache benchmark failed: {type(exc).__name__}: {exc}"
            log(f"  statecache: not available ({problem})")
            sections[label] = {"available": False, "reason": problem}
            results.target("statecache", name, None, f"≤ {goal}", None, "not available")
            continue
        sections[label] = {**section, "goal": goal, "why": why}
        ratio = section["ratio"]
        results.target("statecache", name, ratio, f"≤ {goal}",
                       ratio is not None and ratio <= goal,
                       f"{section['uncached_seconds']} s uncached, {section['cached_seconds']} s "
                       f"cached, {section['state_bytes'] // 1000} KB a state")  # fmt: skip
        stale, changed = section["stale"], section["changed"]
        note = f"{changed} states changed behind the platform's back"
        results.target(
            "statecache", f"stale summaries served, {label} states", stale, "0", stale == 0, note
        )
    results.sections["statecache"] = sections


def _resources(count: int, tag: str) -> list[Any]:
    from django.contrib.auth import get_user_model

    from catalog.models import Template
    from idp.models import Environment
    from provisioning.models import Resource

    from .seed import MEMBER_USERNAME, TEMPLATE_SLUG

    member = get_user_model().objects.get(username=MEMBER_USERNAME)
    membership = member.memberships.order_by("team__slug").first()
    if membership is None:
        raise RuntimeError(f"{MEMBER_USERNAME} belongs to no team: seed again (--reseed)")
    template = Template.objects.get(slug=TEMPLATE_SLUG)
    env = Environment.objects.get(slug="dev")
    Resource.objects.bulk_create(
        Resource(
            team=membership.team,
            template=template,
            template_version=template.current_version,
            environment=env,
            name=f"statecache-{tag}-{i}",
            status="provisioned",
        )
        for i in range(count)
    )
    # Team and environment loaded with them: a state key costs no query in the passes.
    return list(
        Resource.objects.filter(name__startswith=f"statecache-{tag}-")
        .select_related("team", "environment")
        .order_by("pk")
    )


def _timed(label: str, body: Any, resources: list[Any], log: Any) -> tuple[float, list[Any]]:
    started = time.perf_counter()
    answers = [body(r) for r in resources]
    seconds = time.perf_counter() - started
    log(f"  statecache: {label}: {seconds:.2f} s ({1000 * seconds / len(resources):.2f} ms each)")
    return seconds, answers


def _run(count: int, instances: int, log: Any) -> dict[str, Any]:
    from django.conf import settings

    from provisioning import workflow
    from provisioning.engine import state_cache
    from provisioning.engine.backend import platform_client, read_state, state_bucket, state_key
    from provisioning.models import Resource, StateSummary

    from .services_procs import MotoServer

    tag = uuid.uuid4().hex[:6]
    with MotoServer() as moto:
        os.environ["AWS_ENDPOINT_URL"] = moto.url
        settings.AWS_ENDPOINT_URL = moto.url
        _ensure_bucket()
        resources = _resources(count, tag)
        try:
            s3 = platform_client("s3")
            log(
                f"  statecache: writing {count} states of {instances} instances on the moto server…"
            )
            size = 0
            for r in resources:
                data = state_document(r.pk, 5, instances)
                size = len(data)
                s3.put_object(Bucket=state_bucket(), Key=state_key(r), Body=data)

            def uncached(r: Any) -> Any:
                return workflow.StateVersion.of_document(read_state(r))

            # A warm-up pass each way (connections, the ORM's query compilation).
            for r in resources[: min(20, count)]:
                uncached(r)
                state_cache.version(r)
            StateSummary.objects.filter(resource__in=resources).delete()
            first, _ = _timed("first read (cache empty)", state_cache.version, resources, log)
            # Rounds taken in turn, each mode's fastest kept: the machine's other load falls
            # on both alike, and the fastest round is the one it disturbed least.
            plains, cacheds = [], []
            for _ in range(ROUNDS):
                seconds, expected = _timed("uncached (GetObject, parse)", uncached, resources, log)
                plains.append(seconds)
                seconds, answers = _timed("cached (HeadObject, one row)", state_cache.version,
                                          resources, log)  # fmt: skip
                cacheds.append(seconds)
                if answers != expected:
                    raise RuntimeError("the cached reads answered otherwise than the downloads")
            plain, cached = min(plains), min(cacheds)
            changed = resources[::CHANGED_SHARE]
            for r in changed:
                s3.put_object(
                    Bucket=state_bucket(), Key=state_key(r), Body=state_document(r.pk, 6, instances)
                )
            mixed, after = _timed(f"after {len(changed)} changed", state_cache.version,
                                  resources, log)  # fmt: skip
            stale = sum(
                1 for r, v in zip(resources, after, strict=True) if v != uncached(r)
            )  # every answer checked against a download
        finally:
            Resource.objects.filter(name__startswith=f"statecache-{tag}-").delete()
    return {
        "available": True,
        "resources": count,
        "state_bytes": size,
        "first_read_seconds": round(first, 3),
        "uncached_seconds": round(plain, 3),
        "cached_seconds": round(cached, 3),
        "rounds": {
            "uncached": [round(x, 3) for x in plains],
            "cached": [round(x, 3) for x in cacheds],
        },
        "after_changes_seconds": round(mixed, 3),
        "ratio": round(cached / plain, 3) if plain else None,
        "uncached_ms_each": round(1000 * plain / count, 3),
        "cached_ms_each": round(1000 * cached / count, 3),
        "changed": len(changed),
        "stale": stale,
    }
