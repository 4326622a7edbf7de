"""docker-compose.yml and the Dockerfile, checked offline (issue 24, finding 12): the
processes run as an unprivileged user that owns only what it writes, the worker gets the
time to finish the longest run when it is stopped (a redeploy used to kill every apply
after Docker's 10 s), and beat is the locked one however it is started."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
APP_SERVICES = ("web", "worker", "beat")
# Docker's default stop grace: SIGKILL ten seconds after SIGTERM.
DOCKER_DEFAULT_GRACE = 10.0


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def service(name: str) -> dict[str, Any]:
    found: dict[str, Any] = compose()["services"][name]
    return found


def seconds(duration: str | int | float) -> float:
    """A compose duration ("3720s", "1h2m", "90") in seconds."""
    if isinstance(duration, int | float):
        return float(duration)
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 0.000001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(float(n) * units[u] for n, u in parts)


def dockerfile_user() -> str:
    users = [
        line.split(None, 1)[1].strip()
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("USER ")
    ]
    assert users, "the Dockerfile never leaves root"
    return users[-1]


def image_uid() -> int:
    uid = dockerfile_user().split(":")[0]
    assert uid.isdigit(), "USER is numeric, so runtimes can check it is not root"
    return int(uid)


def in_container(path: str | Path) -> str:
    """A project path as the image lays it out (the project is /app)."""
    return "/app/" + str(Path(path).relative_to(ROOT))


def mounts(spec: dict[str, Any]) -> list[str]:
    """Where a compose service has something writable mounted (volumes and tmpfs)."""
    targets = []
    for volume in spec.get("volumes", []):
        if isinstance(volume, str):
            parts = volume.split(":")
            targets.append(parts[1] if len(parts) > 1 else parts[0])
        else:
            targets.append(volume["target"])
    tmpfs = spec.get("tmpfs", [])
    targets.extend([tmpfs] if isinstance(tmpfs, str) else tmpfs)
    return [t.split(":")[0] for t in targets]


def under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def test_the_compose_file_is_valid_compose() -> None:
    """Against the Compose specification's schema (vendored by check-jsonschema, a runtime
    dependency): a misspelt key such as `stop_grace_periods` would be refused by Docker."""
    from importlib.resources import files

    schema = json.loads(
        files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text()
    )
    jsonschema.validate(compose(), schema)
    broken = compose()
    broken["services"]["worker"]["stop_grace_periods"] = "1h"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_the_image_runs_as_an_unprivileged_uid() -> None:
    assert image_uid() != 0
    text = (ROOT / "Dockerfile").read_text()
    # It owns only what it writes: no recursive chown of the code or the collected static.
    assert not re.search(r"chown\s+-R\s+\S+\s+/app(/var)?(\s|$)", text)
    assert "/app/var/runs" in text and "/app/var/terraform-plugin-cache" in text


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_platform_container_runs_as_that_uid_without_privileges(name: str) -> None:
    spec = service(name)
    user = str(spec["user"])
    uid, _, gid = user.partition(":")
    assert uid == str(image_uid()) and gid and gid != "0", user
    assert spec["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in spec["security_opt"]


@pytest.mark.parametrize("name", ["worker", "beat"])
def test_worker_and_beat_have_a_read_only_root_and_write_only_their_folders(name: str) -> None:
    spec = service(name)
    assert spec["read_only"] is True
    writable = mounts(spec)
    assert "/tmp" in writable  # noqa: S108 - the container's own /tmp
    env = spec["environment"]
    # Named here, not left to defaults that depend on where the code is.
    for needed in (env["IDP_WORK_DIR"], env["TF_PLUGIN_CACHE_DIR"], env["HOME"]):
        assert any(under(needed, target) for target in writable), (name, needed)


@pytest.mark.parametrize("name", APP_SERVICES)
def test_no_volume_hides_the_static_files_baked_into_the_image(name: str) -> None:
    static = in_container(settings.STATIC_ROOT)
    for target in mounts(service(name)):
        assert not under(static, target), (name, target)


def test_the_worker_may_finish_the_longest_run_when_stopped() -> None:
    """Celery's warm shutdown finishes the runs a stopped worker holds; Docker must wait as
    long as the hard time limit (what deploy/kubernetes gives it too)."""
    grace = seconds(service("worker")["stop_grace_period"])
    assert grace > DOCKER_DEFAULT_GRACE
    assert grace >= settings.CELERY_TASK_TIME_LIMIT
    assert settings.CELERY_TASK_TIME_LIMIT >= settings.IDP_RUN_TIME_LIMIT
    # The worker is PID 1 (no shell in between), so the SIGTERM reaches Celery.
    command = service("worker")["command"]
    args = shlex.split(command) if isinstance(command, str) else command
    assert args[0] == "celery"


def test_the_portal_gets_its_graceful_shutdown_too() -> None:
    web = service("web")
    assert seconds(web["stop_grace_period"]) > DOCKER_DEFAULT_GRACE
    # The shell hands over to gunicorn (exec), so the SIGTERM reaches it.
    assert "exec gunicorn" in " ".join(
        web["command"] if isinstance(web["command"], list) else [web["command"]]
    )


def test_beat_is_started_without_a_scheduler_of_its_own() -> None:
    """The settings name the locked scheduler; a command line may not replace it."""
    command = service("beat")["command"]
    args = shlex.split(command) if isinstance(command, str) else command
    assert not [a for a in args if a.startswith("--scheduler") or a == "-S"]
    assert settings.CELERY_BEAT_SCHEDULER == "idp.beat_lock:SingleBeatScheduler"
