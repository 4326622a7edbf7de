"""A second Celery beat refuses to run while one holds the beat lock (idp.beat_lock): the
scheduler the Kubernetes manifests start beat with. On PostgreSQL (CI) the lock is an
advisory lock; on SQLite a file lock beside the schedule."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.db import connection

from config.celery import app
from idp.beat_lock import BeatLockHeld, SingleBeatScheduler


def scheduler(schedule: Path) -> SingleBeatScheduler:
    return SingleBeatScheduler(app=app, schedule_filename=str(schedule), lazy=False)


@pytest.mark.django_db
def test_a_second_scheduler_refuses_until_the_first_closes(tmp_path: Path) -> None:
    schedule = tmp_path / "celerybeat-schedule"
    first = scheduler(schedule)
    try:
        with pytest.raises(BeatLockHeld, match="another celery beat is running") as refused:
            scheduler(schedule)
        if connection.vendor != "postgresql":
            # The refused beat names the holder: this process.
            assert f"pid {os.getpid()}" in str(refused.value)
        assert first.beat_lock.still_held()
        # The first one keeps scheduling.
        assert first.tick() >= 0
    finally:
        first.close()
    # Closed (or dead): the lock is free for the next beat.
    second = scheduler(schedule)
    second.close()


@pytest.mark.django_db
def test_a_beat_that_lost_its_lock_to_another_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import idp.beat_lock as beat_lock

    schedule = tmp_path / "celerybeat-schedule"
    first = scheduler(schedule)
    # The lock disappears under the first beat (its database connection was cut, say) and a
    # second beat takes it: the first must stop, not go on beside it.
    first.beat_lock.release()
    second = scheduler(schedule)
    monkeypatch.setattr(beat_lock, "RECHECK_SECONDS", 0.0)
    try:
        with pytest.raises(BeatLockHeld, match="lost"):
            first.tick()
    finally:
        second.close()
        first.close()


def _beat(
    schedule: Path, env: dict[str, str], command: list[str] | None = None
) -> subprocess.Popen[str]:
    """A `celery beat` process: by default as the Kubernetes manifest starts it."""
    args = command or [
        *("celery", "--app=config", "beat", "--loglevel=INFO"),
        f"--schedule={schedule}",
    ]
    assert args[0] == "celery"
    return subprocess.Popen(
        [sys.executable, "-m", *args],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _second_beat_refused(
    tmp_path: Path, env: dict[str, str], command: list[str] | None = None
) -> str:
    """Start two beats; the second must exit non-zero while the first goes on. Returns
    the second's output."""
    schedule = tmp_path / "celerybeat-schedule"
    first = _beat(schedule, env, command)
    try:
        deadline = time.monotonic() + 60
        # The first beat holds the lock once it has opened its schedule file.
        while time.monotonic() < deadline and not [
            p
            for p in tmp_path.iterdir()
            if p.name.startswith("celerybeat-schedule") and not p.name.endswith(".lock")
        ]:
            assert first.poll() is None, first.communicate()[0]
            time.sleep(0.2)
        second = _beat(schedule, env, command)
        output, _ = second.communicate(timeout=60)
        assert second.returncode != 0, output
        assert "another celery beat is running" in output
        assert first.poll() is None  # the first is untouched
        return output
    finally:
        os.killpg(first.pid, signal.SIGTERM)
        first.communicate(timeout=30)


def _test_env() -> dict[str, str]:
    """The beats' environment: the test settings, on this test's database (the lock is an
    advisory lock there on PostgreSQL; DATABASE_URL's own database may not even exist)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "CELERY_BROKER_URL": "memory://",
    }
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        user = db["USER"] or "postgres"
        auth = f"{user}:{db['PASSWORD']}" if db["PASSWORD"] else user
        env["DATABASE_URL"] = (
            f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    return env


@pytest.mark.slow
@pytest.mark.django_db
def test_two_real_beats_one_runs_the_other_exits(tmp_path: Path) -> None:
    """Two `celery beat` processes as the manifests start them: the second exits non-zero
    with the reason while the first goes on."""
    _second_beat_refused(tmp_path, _test_env())


def test_the_locked_scheduler_is_the_default_not_an_option() -> None:
    """Whoever starts beat, however (compose, README, by hand), gets the lock: the settings
    name the scheduler, so no command line has to."""
    assert settings.CELERY_BEAT_SCHEDULER == "idp.beat_lock:SingleBeatScheduler"
    assert app.conf.beat_scheduler == settings.CELERY_BEAT_SCHEDULER
    from celery.apps.beat import Beat

    assert Beat(app=app).scheduler_cls == settings.CELERY_BEAT_SCHEDULER


def compose_beat_command(schedule: Path) -> list[str]:
    """docker-compose.yml's beat command, with its schedule file moved to `schedule`."""
    compose = yaml.safe_load((Path(settings.BASE_DIR) / "docker-compose.yml").read_text())
    command = compose["services"]["beat"]["command"]
    args = shlex.split(command) if isinstance(command, str) else list(command)
    moved = []
    for arg in args:
        if arg.startswith("--schedule="):
            arg = f"--schedule={schedule}"
        elif moved and moved[-1] in {"-s", "--schedule"}:
            arg = str(schedule)
        moved.append(arg)
    assert str(schedule) in " ".join(moved), "the compose beat names no schedule file"
    return moved


@pytest.mark.slow
@pytest.mark.django_db
def test_a_second_beat_started_as_compose_starts_it_exits(tmp_path: Path) -> None:
    """The compose file (and README's "Operating it") start beat without --scheduler: a
    second one used to send every periodic task a second time."""
    command = compose_beat_command(tmp_path / "celerybeat-schedule")
    assert not any(arg.startswith("--scheduler") or arg == "-S" for arg in command)
    _second_beat_refused(tmp_path, _test_env(), command)


@pytest.mark.slow
def test_make_runs_beat_takes_the_file_lock_on_sqlite_and_the_filesystem_broker(
    tmp_path: Path,
) -> None:
    """`make run` (run_platform) starts beat with the filesystem broker and SQLite: the lock
    is a file beside the schedule, and a second beat names it."""
    broker = tmp_path / "broker"
    for folder in ("out", "processed", "control"):
        (broker / folder).mkdir(parents=True)
    env = {
        **_test_env(),
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'idp.sqlite3'}",
        "CELERY_BROKER_URL": "filesystem://",
        "IDP_BROKER_DIR": str(broker),
        "IDP_VAR_DIR": str(tmp_path),
    }
    schedule = tmp_path / "celerybeat-schedule"
    command = ["celery", "-A", "config", "beat", "-l", "INFO", "-s", str(schedule)]
    output = _second_beat_refused(tmp_path, env, command)
    assert f"lock file {schedule}.lock" in output
