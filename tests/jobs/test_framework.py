"""The job framework (idp/jobs) on real job kinds: a nudge that meets a broker error is
logged and the sweeper sends the job; a stale heartbeat is reaped with a reason and its
folder removed; a request made while a job runs is recorded and runs next; a late worker
cannot overwrite a job taken back from it; one retry policy, one housekeeping task."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from catalog.choices import DocsStatus, EntityKind, EntityOrigin
from catalog.models import DocsBuild, Entity, Template, TemplateSource
from catalog.services import sources
from catalog.software.services import docs
from config.celery import app
from idp.jobs import dispatch
from idp.jobs.models import JobStatus
from idp.jobs.registry import kinds
from idp.jobs.retry import RetryPolicy
from idp.jobs.sweep import housekeeping, reap_lost, sweep_queued
from tests.catalog.test_sources import Origin
from tests.catalog.test_sources import origin as origin  # noqa: F401 - the fixture
from tests.recovery.engine_procs import producer_on
from tests.utils import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def job_root(tmp_path: Path, settings: Any) -> Path:
    settings.IDP_JOB_WORK_DIR = str(tmp_path / "jobs")
    return tmp_path / "jobs"


def _eagerness(value: bool) -> Iterator[None]:
    before = app.conf.task_always_eager
    app.conf.task_always_eager = value
    try:
        yield
    finally:
        app.conf.task_always_eager = before


@pytest.fixture
def eager_off() -> Iterator[None]:
    """Messages go to the broker (the test may turn eagerness on later)."""
    yield from _eagerness(False)


@pytest.fixture
def eager() -> Iterator[None]:
    """Sent messages run at once in this process (what a worker would do with them)."""
    yield from _eagerness(True)


def registered(origin: Origin) -> TemplateSource:
    """A source whose first sync is queued; its nudge never ran (no commit in this test)."""
    return sources.register_source(None, origin.url)


def test_a_broker_error_is_logged_and_the_sweeper_sends_the_job(
    origin: Origin,
    job_root: Path,
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Any,
    eager_off: None,
) -> None:
    dead = SimpleNamespace(url=f"redis://127.0.0.1:{free_port()}/0", folder=None)
    with (
        caplog.at_level(logging.WARNING, logger="idp.jobs.dispatch"),
        producer_on(dead),
        django_capture_on_commit_callbacks(execute=True) as sent,
    ):
        source = registered(origin)
    assert len(sent) == 1  # the nudge ran on commit, and met the broker error
    warning = next(r for r in caplog.records if "could not send" in r.getMessage())
    assert warning.exc_info is not None and "template source sync" in warning.getMessage()
    source.refresh_from_db()
    assert source.status == JobStatus.QUEUED  # the row is the truth: still queued

    app.conf.task_always_eager = True  # the message runs here, as a worker would run it
    assert sweep_queued(sources.SOURCE_SYNC, grace=0) == 1
    source.refresh_from_db()
    assert source.status == JobStatus.SUCCEEDED, source.error
    assert Template.objects.get(slug="note").versions.count() == 2
    assert source.attempts == 1 and source.workdir == "" and list(job_root.iterdir()) == []


def lost(source: TemplateSource, job_root: Path, *, attempts: int) -> Path:
    """Make `source` look like a sync whose worker died mid-clone a while ago."""
    folder = job_root / f"catalog.source_sync-{source.pk}-dead"
    (folder / "idp-source-x" / "repo.git").mkdir(parents=True)
    TemplateSource.objects.filter(pk=source.pk).update(
        status=JobStatus.RUNNING,
        attempts=attempts,
        worker="elsewhere:1",
        started_at=timezone.now() - timedelta(minutes=5),
        heartbeat_at=timezone.now() - timedelta(minutes=5),
        workdir=str(folder),
    )
    return folder


def test_a_stale_heartbeat_is_reaped_with_a_reason_and_its_folder_removed(
    origin: Origin, job_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    source = registered(origin)
    folder = lost(source, job_root, attempts=1)
    fresh = registered(Origin(job_root.parent / "other", "other"))
    TemplateSource.objects.filter(pk=fresh.pk).update(
        status=JobStatus.RUNNING, attempts=1, heartbeat_at=timezone.now()
    )

    with django_capture_on_commit_callbacks() as nudges:
        assert reap_lost(sources.SOURCE_SYNC) == 1  # the live one is left alone
    source.refresh_from_db()
    assert source.status == JobStatus.QUEUED and source.sync_state == "queued"
    assert "was lost (no heartbeat for 120s); queued again" in source.error
    assert not folder.exists() and source.workdir == ""
    assert len(nudges) == 1  # sent again once the reaper's transaction commits
    assert TemplateSource.objects.get(pk=fresh.pk).status == JobStatus.RUNNING

    # Its last attempt: failed, the reason shown as the last sync's result.
    folder = lost(source, job_root, attempts=sources.SOURCE_SYNC.max_attempts)
    assert reap_lost(sources.SOURCE_SYNC) == 1
    source.refresh_from_db()
    assert source.status == JobStatus.FAILED and "not tried again" in source.error
    assert source.last_sync_result["ok"] is False and "was lost" in source.last_sync_result["error"]
    assert not folder.exists()


def test_a_request_while_a_sync_runs_is_recorded_and_runs_next(
    origin: Origin, job_root: Path, eager: None, django_capture_on_commit_callbacks: Any
) -> None:
    source = registered(origin)
    claimed = dispatch.claim(sources.SOURCE_SYNC, source.pk)
    assert claimed is not None and dispatch.claim(sources.SOURCE_SYNC, source.pk) is None

    # The fault: the answer said "queued" but only the object in memory changed.
    assert sources.request_sync(source) == dispatch.REQUESTED_AGAIN
    assert TemplateSource.objects.get(pk=source.pk).requested_again is True
    assert source.sync_state == "syncing"  # the object shows the row, not a wish

    with django_capture_on_commit_callbacks(execute=True) as nudges:
        assert dispatch.finish(sources.SOURCE_SYNC, claimed, JobStatus.SUCCEEDED)
    assert len(nudges) == 1
    source.refresh_from_db()
    # The nudge ran the recorded request (eagerly here): a whole sync, not skipped.
    assert source.status == JobStatus.SUCCEEDED and not source.requested_again
    assert source.last_sync_result["created"] == ["note 1.0.0", "note 1.1.0"]


def test_a_request_while_a_docs_build_runs_makes_the_next_build(
    teams: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    entity = Entity.objects.create(
        kind=EntityKind.COMPONENT,
        name="ledger",
        owner_ref="group:default/payments",
        team=teams["payments"],
        origin=EntityOrigin.IMPORT,
    )
    first = docs.request_build(entity)
    assert docs.request_build(entity).pk == first.pk  # joins the queued one
    running = dispatch.claim(docs.DOCS_BUILD, first.pk)
    assert running is not None and running.status == DocsStatus.BUILDING

    again = docs.request_build(entity)
    assert again.pk == first.pk and again.requested_again
    with django_capture_on_commit_callbacks() as nudges:
        dispatch.finish(docs.DOCS_BUILD, running, DocsStatus.SUCCEEDED)
    builds = list(DocsBuild.objects.filter(entity=entity).order_by("pk"))
    assert [b.status for b in builds] == [DocsStatus.SUCCEEDED, DocsStatus.QUEUED]
    assert len(nudges) == 1  # the nudge of the build that follows it


def test_a_worker_taken_for_lost_cannot_overwrite_the_job(origin: Origin, job_root: Path) -> None:
    source = registered(origin)
    claimed = dispatch.claim(sources.SOURCE_SYNC, source.pk)
    assert claimed is not None
    TemplateSource.objects.filter(pk=source.pk).update(
        heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    assert reap_lost(sources.SOURCE_SYNC) == 1
    again = dispatch.claim(sources.SOURCE_SYNC, source.pk)  # another worker has it now
    assert again is not None and again.attempts == 2

    # The first worker was only slow: its late end changes nothing.
    assert dispatch.finish(sources.SOURCE_SYNC, claimed, JobStatus.FAILED, "slow") is False
    source.refresh_from_db()
    assert source.status == JobStatus.RUNNING and source.attempts == 2
    assert source.error.startswith("The worker running this template source sync was lost")


def test_the_reaper_removes_only_folders_inside_the_job_root(
    job_root: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "precious"
    outside.mkdir()
    assert dispatch.remove_workdir(str(outside)) is False and outside.exists()
    assert dispatch.remove_workdir(str(job_root / ".." / "precious")) is False
    inside = dispatch.work_root() / "catalog.source_sync-1-x"
    inside.mkdir()
    assert dispatch.remove_workdir(str(inside)) is True and not inside.exists()


# --- One retry policy, one housekeeping task ---------------------------------------------------


def test_the_retry_policy_names_its_transient_errors() -> None:
    with pytest.raises(ValueError, match="Name the transient"):
        RetryPolicy(transient=(Exception,))
    policy = RetryPolicy(transient=(TimeoutError,), max_attempts=3, backoff=10, jitter=False)
    assert policy.should_retry(TimeoutError(), 1) and policy.should_retry(TimeoutError(), 2)
    assert not policy.should_retry(TimeoutError(), 3)  # the last attempt
    assert not policy.should_retry(ValueError(), 1)  # a bug is not retried
    assert [policy.delay(n) for n in (1, 2, 3)] == [10, 20, 40]
    limited = TimeoutError()
    limited.retry_after = 900  # type: ignore[attr-defined]
    assert policy.delay(1, limited) == 900


def test_no_task_retries_on_any_exception() -> None:
    app.loader.import_default_modules()
    broad = [
        name
        for name, task in app.tasks.items()
        if {Exception, BaseException} & set(getattr(task, "autoretry_for", ()) or ())
    ]
    assert broad == []


def test_one_housekeeping_task_covers_every_job_kind(db: None) -> None:
    names = {kind.name for kind in kinds()}
    assert {
        "catalog.docs_build",
        "catalog.location_scan",
        "catalog.source_sync",
        "fleet.drive",
        "pipelines.delivery",
        "pipelines.deployment",
        "monitoring.collection",
        "provisioning.run",
    } <= names
    schedule = django_settings.CELERY_BEAT_SCHEDULE
    tasks = [entry["task"] for entry in schedule.values()]
    assert tasks.count("idp.jobs_housekeeping") == 1
    for gone in (
        "catalog.sweep_docs_builds",
        "catalog.sweep_template_sources",
        "fleet.sweep_fleets",
        "provisioning.sweep_queued_runs",
        "provisioning.reap_lost_runs",
    ):
        assert gone not in tasks
    report = housekeeping()
    assert names <= set(report) and not any(counts.get("error") for counts in report.values())
