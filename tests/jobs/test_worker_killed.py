"""A worker process SIGKILLed in the middle of a template-source sync or a docs build (no
goodbye): the reaper takes the job back within the heartbeat timeout plus one housekeeping
interval, its temporary folder is removed, and the request made meanwhile (recorded on the
row, not only in memory) runs: the sync makes its versions, the build serves its site."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
import pytest

from catalog.choices import DocsStatus, EntityKind, EntityOrigin, LocationType
from catalog.models import DocsBuild, Entity, Location, Template, TemplateSource
from catalog.services import sources
from catalog.software.services import docs
from idp.jobs import dispatch
from idp.jobs.models import JobStatus
from tests.catalog.test_docs import GUIDE_MD, INDEX_MD, MKDOCS_YML, SVG, commit_files, git
from tests.catalog.test_sources import CHANGELOG, Origin, module
from tests.recovery.engine_procs import Proc, Stack, wait_for

# The recovery database, broker, moto server and processes (the `stack` fixture).
pytest_plugins = ["tests.recovery.engine_procs"]

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(300)]

HEARTBEAT_TIMEOUT = 4
BEAT_SCALE = 0.05  # idp.jobs_housekeeping every 0.5 s
HOUSEKEEPING_EVERY = 0.5


class BlackHole:
    """A TCP listener that accepts connections and never answers: a Git host that hangs
    (the clone waits in its TLS handshake until it is killed)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.accepted = threading.Event()
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                self.conns.append(conn)
                self.accepted.set()

    def close(self) -> None:
        for conn in [*self.conns, self.sock]:
            conn.close()


def jobs_env(stack: Stack) -> dict[str, Any]:
    """The worker's, beat's and this process's job settings: a short heartbeat timeout and
    the jobs' folders in the test's own folder."""
    root = stack.tmp / "jobs"
    stack.settings.IDP_JOB_WORK_DIR = str(root)
    stack.settings.IDP_JOB_HEARTBEAT_TIMEOUT = HEARTBEAT_TIMEOUT
    return {"IDP_JOB_HEARTBEAT_TIMEOUT": HEARTBEAT_TIMEOUT, "IDP_JOB_WORK_DIR": root}


def start(stack: Stack) -> Proc:
    env = jobs_env(stack)
    worker = stack.start_worker(concurrency=2, **env)
    stack.start_beat(IDP_BEAT_SCALE=BEAT_SCALE, **env)
    return worker


def kill_worker_of(row: Any, worker: Proc, *, also: str = "") -> None:
    """SIGKILL the pool child holding the job (and, with `also`, its helper processes whose
    command line names it: a sandboxed build would otherwise run on)."""
    child = int(row.worker.split(":")[1])
    assert child in worker.pool_children()
    helpers = [
        p
        for p in psutil.Process(child).children(recursive=True)
        if also and also in " ".join(p.cmdline())
    ]
    os.kill(child, signal.SIGKILL)
    for helper in helpers:
        with contextlib.suppress(psutil.NoSuchProcess):
            helper.kill()


def wait_reaped(model: Any, pk: int, started_at: Any) -> float:
    """Seconds until the killed attempt no longer holds the row (queued again, or claimed
    by a new attempt: its start time changed)."""
    began = time.monotonic()

    def taken_back() -> bool:
        row = model.objects.get(pk=pk)
        return row.status != JobStatus.RUNNING or row.started_at != started_at

    wait_for(taken_back, "the reaper", timeout=HEARTBEAT_TIMEOUT + 30, every=0.05)
    return time.monotonic() - began


def test_a_worker_killed_mid_sync_is_reaped_and_the_sync_requested_meanwhile_runs(
    stack: Stack, tmp_path: Path
) -> None:
    worker = start(stack)
    origin = Origin(tmp_path / "git", f"note-{uuid.uuid4().hex[:6]}")
    origin.commit({**module(), "CHANGELOG.md": CHANGELOG}, "first")
    origin.tag("v1.0.0", "First release")
    hole = BlackHole()
    try:
        source = sources.register_source(None, f"https://127.0.0.1:{hole.port}/note.git")

        def cloning() -> TemplateSource | None:
            row = TemplateSource.objects.get(pk=source.pk)
            held = row.status == JobStatus.RUNNING and row.workdir and hole.accepted.is_set()
            return row if held else None

        running = wait_for(cloning, "the sync to hang in its clone", timeout=120)
        workdir = Path(running.workdir)
        assert [p.name for p in workdir.iterdir()] and workdir.parent == tmp_path / "jobs"
        kill_worker_of(running, worker)
        killed_at = time.monotonic()

        # Meanwhile the admin fixes the URL and asks again: recorded on the row at once.
        TemplateSource.objects.filter(pk=source.pk).update(url=origin.url)
        assert sources.request_sync(source) == dispatch.REQUESTED_AGAIN
        assert TemplateSource.objects.get(pk=source.pk).requested_again

        wait_reaped(TemplateSource, source.pk, running.started_at)
        reaped_after = time.monotonic() - killed_at
        assert reaped_after < HEARTBEAT_TIMEOUT + HOUSEKEEPING_EVERY + 5, reaped_after
        assert not workdir.exists()  # the killed sync's clone folder is gone

        def synced() -> TemplateSource | None:
            row = TemplateSource.objects.get(pk=source.pk)
            return row if row.status in (JobStatus.SUCCEEDED, JobStatus.FAILED) else None

        done = wait_for(synced, "the sync requested meanwhile", timeout=120)
    finally:
        hole.close()
    assert done.status == JobStatus.SUCCEEDED, (done.error, done.last_sync_result)
    result = done.last_sync_result
    assert [v.rsplit(" ", 1)[1] for v in result["created"]] == ["1.0.0"], result
    assert not result["failed"]
    assert Template.objects.filter(source=source).count() == 1
    assert not done.requested_again and done.attempts == 1  # a fresh count for the new request
    worker.wait_log(r"idp\.jobs_housekeeping.*'catalog\.source_sync': \{'reaped': 1", "the reap")
    wait_for(lambda: not list((tmp_path / "jobs").iterdir()), "every job folder to be gone")


def docs_repo(root: Path) -> Path:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    commit_files(
        root,
        {"mkdocs.yml": MKDOCS_YML, "docs/index.md": INDEX_MD, "docs/guide.md": GUIDE_MD,
         "docs/diagram.svg": SVG},
    )  # fmt: skip
    return root


def test_a_worker_killed_mid_build_is_reaped_and_the_build_requested_meanwhile_runs(
    stack: Stack, tmp_path: Path
) -> None:
    worker = start(stack)
    team, _ = stack.member()
    repo = docs_repo(tmp_path / "payments-api")
    location = Location.objects.create(type=LocationType.GIT, target=str(repo), team=team)
    entity = Entity.objects.create(
        kind=EntityKind.COMPONENT,
        name=f"payments-api-{uuid.uuid4().hex[:6]}",
        owner_ref=f"group:default/{team.slug}",
        team=team,
        origin=EntityOrigin.LOCATION,
        location=location,
        annotations={docs.TECHDOCS_REF: "dir:."},
    )
    build = docs.request_build(entity)

    def building() -> DocsBuild | None:
        row = DocsBuild.objects.defer("files").get(pk=build.pk)
        if row.status != DocsStatus.BUILDING or not row.worker:
            return None
        with contextlib.suppress(psutil.NoSuchProcess):
            child = psutil.Process(int(row.worker.split(":")[1]))
            if any("mkdocs" in " ".join(p.cmdline()) for p in child.children(recursive=True)):
                return row
        return None

    running = wait_for(building, "mkdocs to run", timeout=120, every=0.05)
    workdir = Path(running.workdir)
    assert workdir.exists()
    kill_worker_of(running, worker, also="mkdocs")
    killed_at = time.monotonic()
    again = docs.request_build(entity)
    assert again.pk == build.pk and DocsBuild.objects.get(pk=build.pk).requested_again

    wait_reaped(DocsBuild, build.pk, running.started_at)
    assert time.monotonic() - killed_at < HEARTBEAT_TIMEOUT + HOUSEKEEPING_EVERY + 5
    assert not workdir.exists()

    def built() -> DocsBuild | None:
        row = DocsBuild.objects.get(pk=build.pk)
        return row if row.status in (DocsStatus.SUCCEEDED, DocsStatus.FAILED) else None

    done = wait_for(built, "the build requested meanwhile", timeout=180)
    assert done.status == DocsStatus.SUCCEEDED, done.log
    assert "index.html" in done.files and done.attempts == 1
    assert DocsBuild.objects.filter(entity=entity).count() == 1  # the request ran as this build
    wait_for(lambda: not list((tmp_path / "jobs").iterdir()), "every job folder to be gone")
