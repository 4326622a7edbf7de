"""Helpers the whole suite shares: waiting for the worker, making a resource row, a bearer API
client, and query-count assertions that print the SQL when they fail.

Fixtures live in the conftests; these are plain functions (import them, no fixture needed).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

# wait_for's first pause between looks; each next one is half as long again, up to `every`.
FIRST_PAUSE = 0.02


def wait_for(
    check: Callable[[], Any], what: str = "the condition", timeout: float = 120, every: float = 0.2
) -> Any:
    """Poll `check()` until it is truthy and return its value; fail naming `what` after
    `timeout` seconds. A database error counts as "not yet": on SQLite a worker thread may
    hold the table at that instant. The first looks come quickly (most conditions hold
    within a fraction of a second) and the pause grows to `every`, so a long wait does not
    poll any harder than it used to."""
    deadline = time.monotonic() + timeout
    pause = min(every, FIRST_PAUSE)
    while time.monotonic() < deadline:
        try:
            value = check()
        except OperationalError:
            value = None
        if value:
            return value
        time.sleep(pause)
        pause = min(every, pause * 1.5)
    pytest.fail(f"timed out after {timeout:g} s waiting for {what}")


def wait_for_status(obj: Any, *wanted: str, timeout: float = 120) -> Any:
    """Wait until a model row with a `status` (resource, run, build, …) reaches one of
    `wanted`; returns it refreshed. The failure names the status it was left in."""
    model = type(obj)

    def reached() -> Any:
        fresh = model.objects.get(pk=obj.pk)
        return fresh if fresh.status in wanted else None

    try:
        return wait_for(reached, f"{model.__name__} {obj.pk} to be {'/'.join(wanted)}", timeout)
    except pytest.fail.Exception:
        status = model.objects.filter(pk=obj.pk).values_list("status", flat=True).first()
        pytest.fail(f"{model.__name__} {obj.pk} is {status!r}, not {'/'.join(wanted)}")


def bearer(raw: str, **client_kwargs: Any) -> APIClient:
    """An API client that sends `raw` (a personal, team or service-account token) as
    `Authorization: Bearer …`; `client_kwargs` go to APIClient (e.g. REMOTE_ADDR)."""
    client = APIClient(**client_kwargs)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def make_resource(team: Any, name: str = "r", **fields: Any) -> Any:
    """A Resource row as the engine would leave it, without Terraform. Unless given: the
    `dev` environment and an `example-config` template with one version are taken (made if
    missing), status `provisioned`. Any other model field may be passed."""
    from catalog.models import Template, TemplateVersion
    from idp.models import Environment
    from provisioning.choices import ResourceStatus
    from provisioning.models import Resource

    template = fields.pop("template", None)
    version = fields.pop("template_version", None)
    if version is not None:
        template = template or version.template
    if template is None:
        template, _ = Template.objects.get_or_create(
            slug="example-config", defaults={"title": "Example config", "category": "config"}
        )
    if version is None:
        version = (
            template.current_version
            or TemplateVersion.objects.filter(template=template).order_by("-number").first()
        )
    if version is None:
        version = TemplateVersion.objects.create(template=template, number=1, files={})
    if fields.get("environment") is None:
        fields["environment"], _ = Environment.objects.get_or_create(
            slug="dev", defaults={"name": "Dev"}
        )
    fields.setdefault("status", ResourceStatus.PROVISIONED)
    return Resource.objects.create(
        team=team, template=template, template_version=version, name=name, **fields
    )


def _report(captured: CaptureQueriesContext, expected: str) -> str:
    lines = "\n".join(
        f"{i}. {query['sql']}" for i, query in enumerate(captured.captured_queries, 1)
    )
    return f"{len(captured.captured_queries)} queries, expected {expected}:\n{lines}"


@contextlib.contextmanager
def assert_queries(
    exactly: int | None = None, *, at_most: int | None = None, using: str = DEFAULT_DB_ALIAS
) -> Iterator[CaptureQueriesContext]:
    """Assert the number of SQL queries the block runs, exactly or at most; on failure the
    message lists every query, numbered. Yields the capture (its `.captured_queries`).

        with assert_queries(4):
            client.get("/teams/")
    """
    if (exactly is None) == (at_most is None):
        raise TypeError("give exactly one of: a count, or at_most=")
    with CaptureQueriesContext(connections[using]) as captured:
        yield captured
    count = len(captured.captured_queries)
    if exactly is not None:
        assert count == exactly, _report(captured, str(exactly))
    elif at_most is not None:
        assert count <= at_most, _report(captured, f"at most {at_most}")


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run real `git` in a test's repository with a fixed author; returns its output."""
    full = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        **(env or {}),
    }
    return subprocess.run(  # noqa: S603 - an argument list, never a shell
        ["git", *args], cwd=repo, env=full, check=True, capture_output=True, text=True
    ).stdout.strip()
