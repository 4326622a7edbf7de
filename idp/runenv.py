"""`make run`'s settings, for commands started from another terminal.

`manage.py run_platform` writes the environment it gives its children (database, broker,
local AWS API) to `<IDP_VAR_DIR>/run-env.json` (mode 0600) and removes it when it stops.
`manage.py`, the Celery app and the WSGI app call `load()` before Django reads its settings,
so `manage.py approve 10 --as bob` in a second terminal talks to the running platform.
Variables set in the environment always win. Only the development settings read the file
(tests and production never do, nor processes the test suite starts), and a file left by
a `make run` that was killed is ignored.
This module imports nothing from Django.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

from idp import conf

FILENAME = "run-env.json"
DEV_SETTINGS = "config.settings.dev"


def var_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """The folder of `make run`'s files: IDP_VAR_DIR, or var/ in the project."""
    return Path(conf.BY_NAME["IDP_VAR_DIR"].parse(environ))


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read(folder: Path) -> dict[str, Any] | None:
    """The file of the `make run` now running from `folder`: {"pid": …, "env": {…}}, or None."""
    try:
        data = json.loads((folder / FILENAME).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("env"), dict):
        return None
    return data if _alive(data.get("pid")) else None


def load(environ: MutableMapping[str, str] = os.environ) -> dict[str, str]:
    """Fill in the variables not set in `environ` from a running `make run`; returns those."""
    if environ.get("DJANGO_SETTINGS_MODULE", DEV_SETTINGS) != DEV_SETTINGS:
        return {}
    if "PYTEST_CURRENT_TEST" in environ:  # a test's child never drives a developer's make run
        return {}
    data = read(var_dir(environ))
    if data is None:
        return {}
    added = {str(k): str(v) for k, v in data["env"].items() if k not in environ}
    environ.update(added)
    return added


def write(folder: Path, env: Mapping[str, str], pid: int) -> Path:
    """Write the file atomically, readable by its owner only (it names credentials)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILENAME
    partial = folder / f".{FILENAME}.{pid}"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"pid": pid, "env": dict(env)}, handle, indent=2, sort_keys=True)
    os.chmod(partial, 0o600)
    os.replace(partial, path)
    return path


def remove(folder: Path, pid: int) -> None:
    """Remove the file if it is `pid`'s (another `make run`'s file is left alone)."""
    path = folder / FILENAME
    try:
        owner = json.loads(path.read_text()).get("pid")
    except (OSError, ValueError, AttributeError):
        return
    if owner == pid:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
