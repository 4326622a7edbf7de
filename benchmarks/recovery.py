"""Recovery benchmark: how long a run whose worker was killed stays `running`.

A real prefork worker applies tests/fixtures/tf_slow; its pool child is SIGKILLed mid-apply;
beat runs the reaper; the figure is the seconds from the kill to the run being `failed`
("worker lost") with its lock freed. The heartbeat timeout and the beat's pace are set
short here (below); in production the bound is IDP_RUN_HEARTBEAT_TIMEOUT plus one reaper
interval (60 s × IDP_BEAT_SCALE).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from .environment import REPO

HEARTBEAT_TIMEOUT = 10
BEAT_SCALE = 0.05  # the reaper every 3 s
SLOW_SECONDS = 20
GOAL_SECONDS = HEARTBEAT_TIMEOUT + 2 * 60 * BEAT_SCALE + 5  # + a pool child restart


def run_section(results: Any, *, log: Any) -> None:
    """Fill `results` with the kill → reaped time, or say plainly why it is missing."""
    name = "worker killed → run reaped (s)"
    try:
        section = _run(log)
    except Exception as exc:  # noqa: BLE001 - the report must say what went wrong
        problem = f"recovery benchmark failed: {type(exc).__name__}: {exc}"
        log(f"  recovery: not available ({problem})")
        results.sections["recovery"] = {"available": False, "reason": problem}
        results.target("recovery", name, None, f"≤ {GOAL_SECONDS:.0f} s", None, "not available")
        return
    results.sections["recovery"] = section
    seconds = section["kill_to_reaped_seconds"]
    results.target("recovery", name, seconds, f"≤ {GOAL_SECONDS:.0f} s", seconds <= GOAL_SECONDS,
                   f"heartbeat timeout {HEARTBEAT_TIMEOUT} s, reaper every "
                   f"{60 * BEAT_SCALE:.0f} s")  # fmt: skip


def _register_slow_template() -> Any:
    from catalog.models import Template, TemplateVersion

    root = REPO / "tests" / "fixtures" / "tf_slow"
    files = {p.name: p.read_text() for p in sorted(root.glob("*.tf"))}
    template, _ = Template.objects.get_or_create(
        slug="bench-recovery-slow", defaults={"title": "Bench recovery (slow)"}
    )
    number = (template.versions.order_by("-number").values_list("number", flat=True).first()) or 0
    version = TemplateVersion.objects.create(
        template=template,
        number=number + 1,
        content_hash=hashlib.sha256(repr(files).encode() + uuid.uuid4().bytes).hexdigest(),
        files=files,
        parameters_schema={
            "type": "object",
            "properties": {"delay": {"type": "number"}, "label": {"type": "string"}},
            "additionalProperties": False,
        },
        approval_policy={},
    )
    template.current_version = version
    template.save(update_fields=["current_version"])
    return version


def _celery(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", *args],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def _stop(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 30)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=wait)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            continue


def _wait(check: Any, what: str, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


def _run(log: Any) -> dict[str, Any]:
    import redis
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from provisioning import actions
    from provisioning.choices import RunKind, RunStatus
    from provisioning.engine.backend import ensure_state_bucket
    from provisioning.models import ResourceLock, Run

    from . import seed
    from .environment import BROKER_URL
    from .services_procs import MotoServer

    redis.Redis.from_url(BROKER_URL).flushdb()
    member = get_user_model().objects.get(username=seed.MEMBER_USERNAME)
    team = member.memberships.order_by("team__slug").first().team
    with tempfile.TemporaryDirectory(prefix="idp-bench-recovery-") as work, MotoServer() as moto:
        os.environ["AWS_ENDPOINT_URL"] = moto.url
        settings.AWS_ENDPOINT_URL = moto.url
        ensure_state_bucket()
        version = _register_slow_template()
        env = {
            **os.environ,
            "IDP_WORK_DIR": work,
            "IDP_RUN_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
            "IDP_BEAT_SCALE": str(BEAT_SCALE),
        }
        worker = _celery(
            ["worker", "-P", "prefork", "-c", "1", "-l", "INFO", "--without-gossip",
             "--without-mingle", "-n", f"bench-recovery-{uuid.uuid4().hex[:6]}@%h"],
            env, Path(work) / "worker.log",
        )  # fmt: skip
        beat = _celery(
            ["beat", "-s", f"{work}/beat-schedule", "--pidfile", f"{work}/beat.pid", "-l", "INFO"],
            env,
            Path(work) / "beat.log",
        )
        try:
            resource = actions.request_resource(
                actor=member,
                template=version.template.slug,
                version=None,
                team=team,
                environment="dev",
                name=f"recovery-{uuid.uuid4().hex[:6]}",
                parameters={"delay": SLOW_SECONDS, "label": "bench"},
            ).resource
            log("  recovery: applying tf_slow, then killing the worker's pool child")

            def sleeping_apply() -> Run | None:
                run = resource.runs.filter(kind=RunKind.APPLY, status=RunStatus.RUNNING).first()
                if run is None:
                    return None
                text = "".join(run.log_chunks.values_list("text", flat=True))
                return run if f"sleep {SLOW_SECONDS}" in text else None

            apply = _wait(sleeping_apply, "the apply to start", 180)
            os.kill(int(apply.worker.split(":")[1]), signal.SIGKILL)
            killed = time.monotonic()
            _wait(
                lambda: Run.objects.get(pk=apply.pk).status != RunStatus.RUNNING,
                "the reaper",
                HEARTBEAT_TIMEOUT + 120,
            )
            seconds = round(time.monotonic() - killed, 2)
            apply.refresh_from_db()
            freed = not ResourceLock.objects.filter(resource=resource).exists()
        finally:
            _stop(beat)
            _stop(worker)
    log(f"  recovery: reaped after {seconds} s ({apply.status}: {apply.error})")
    return {
        "available": True,
        "kill_to_reaped_seconds": seconds,
        "run_status": apply.status,
        "run_error": apply.error,
        "lock_freed": freed,
        "heartbeat_timeout_seconds": HEARTBEAT_TIMEOUT,
        "reaper_interval_seconds": 60 * BEAT_SCALE,
    }
