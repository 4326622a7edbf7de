"""A second Celery beat refuses to run while one holds the beat lock (idp.beat_lock): the
scheduler the Kubernetes manifests start beat with. On PostgreSQL (CI) the lock is an
advisory lock; on SQLite a file lock beside the schedule."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from idp.beat_lock import BeatLockHeld, SingleBeatScheduler
from idp.celery import app


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


def _beat(schedule: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "--app=idp", "beat", "--loglevel=INFO"),
            f"--schedule={schedule}",
            "--scheduler=idp.beat_lock:SingleBeatScheduler",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


@pytest.mark.slow
def test_two_real_beats_one_runs_the_other_exits(tmp_path: Path) -> None:
    """Two `celery beat` processes as the manifests start them: the second exits non-zero
    with the reason while the first goes on."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "idp.settings.test",
        "CELERY_BROKER_URL": "memory://",
    }
    schedule = tmp_path / "celerybeat-schedule"
    first = _beat(schedule, env)
    try:
        deadline = time.monotonic() + 60
        # The first beat holds the lock once it has opened its schedule file.
        while time.monotonic() < deadline and not [
            p for p in tmp_path.iterdir() if not p.name.endswith(".lock")
        ]:
            assert first.poll() is None, first.communicate()[0]
            time.sleep(0.2)
        second = _beat(schedule, env)
        output, _ = second.communicate(timeout=60)
        assert second.returncode != 0
        assert "another celery beat is running" in output
        assert first.poll() is None  # the first is untouched
    finally:
        os.killpg(first.pid, signal.SIGTERM)
        first.communicate(timeout=30)
