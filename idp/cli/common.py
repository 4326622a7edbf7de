"""Helpers shared by the command groups: parameters, waiting, column choice."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from typing import Any

from .client import FAILED, USAGE, Client, fail, read_json_file
from .output import Column, err_console

# Resource states (DESIGN.md); the CLI does not import the Django project.
RESOURCE_BUSY = {"pending", "planning", "applying", "destroying"}


def poll_interval() -> float:
    try:
        return max(0.05, float(os.environ.get("IDP_POLL_INTERVAL", "1")))
    except ValueError:
        return 1.0


def parse_parameters(pairs: Iterable[str], files: Iterable[str]) -> dict[str, Any]:
    """`-f file.json` first, then each `-p key=value` (JSON when it parses, else a string)."""
    parameters: dict[str, Any] = {}
    for path in files:
        data = read_json_file(path)
        if not isinstance(data, dict):
            fail(f"{path} must hold a JSON object of parameters", USAGE)
        parameters.update(data)
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            fail(f"-p expects key=value, got {pair!r}", USAGE)
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        parameters[key.strip()] = value
    return parameters


def auto_columns(items: list[dict[str, Any]], preferred: Iterable[str]) -> list[Column]:
    """The preferred keys the answer actually has, else its first scalar keys (none for
    an empty answer)."""
    if not items:
        return []
    keys: list[str] = []
    for item in items[:20]:
        for key in item:
            if key not in keys:
                keys.append(key)
    chosen = [k for k in preferred if k in keys]
    if not chosen:
        chosen = [k for k in keys if not isinstance(items[0].get(k), dict | list)][:8]
    return [(k, k) for k in chosen]


def wait_for_resource(
    api: Client, resource_id: Any, until: set[str], timeout: float
) -> dict[str, Any]:
    """Poll the resource, showing its status, until it reaches one of `until`."""
    deadline = time.monotonic() + timeout
    console = err_console()
    # Progress only on a terminal: piped stderr keeps to the one error line, if any.
    live = console.is_terminal
    last = None
    with console.status("waiting…", spinner="dots") if live else nullcontext() as spinner:
        while True:
            resource = api.get(f"/api/v1/resources/{resource_id}/")
            status = resource.get("status")
            if status != last and spinner is not None:
                console.print(f"resource {resource_id}: {status}")
                spinner.update(f"resource {resource_id}: {status}")
            last = status
            if status in until:
                return resource
            if time.monotonic() > deadline:
                fail(f"resource {resource_id} still {status} after {int(timeout)}s", FAILED)
            time.sleep(poll_interval())


def finish(resource: dict[str, Any], show: Callable[[dict[str, Any]], None]) -> None:
    """Print the resource; exit 1 when it ended failed."""
    show(resource)
    if resource.get("status") == "failed":
        reason = resource.get("last_error") or "see `idp resources logs`"
        fail(f"resource {resource.get('id')} failed: {reason}", FAILED)
