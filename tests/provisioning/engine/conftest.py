"""Fixtures of the engine tests: fixture modules as templates, environments, a state bucket,
and a driver that executes queued runs in this process (real Terraform, real S3 on moto)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from catalog.models import Template, TemplateVersion
from idp.models import Environment
from provisioning import actions
from provisioning.choices import RunStatus
from provisioning.engine.backend import ensure_state_bucket
from provisioning.engine.runner import RunTask
from provisioning.models import Resource, Run

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


SCHEMAS: dict[str, dict[str, Any]] = {
    "tf_echo": {
        "type": "object",
        "properties": {
            "message": {"type": "string"},
            "secret": {"type": "string", "writeOnly": True, "x-sensitive": True},
        },
        "required": ["message"],
        "additionalProperties": False,
    },
    "tf_slow": {
        "type": "object",
        "properties": {
            "delay": {"type": "number", "minimum": 0, "maximum": 60},
            "label": {"type": "string"},
        },
        "additionalProperties": False,
    },
    "tf_fail": {"type": "object", "properties": {}, "additionalProperties": False},
    "tf_provider": {"type": "object", "properties": {}, "additionalProperties": False},
}


def register_module(folder: str, *, slug: str | None = None, **fields: Any) -> TemplateVersion:
    """Register a fixture folder as a template's new current version."""
    root = FIXTURES / folder
    files = {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*.tf"))}
    digest = hashlib.sha256(repr(sorted(files.items())).encode() + repr(fields).encode())
    template, _ = Template.objects.get_or_create(
        slug=slug or folder.replace("_", "-"), defaults={"title": folder}
    )
    number = template.versions.order_by("-number").values_list("number", flat=True).first() or 0
    version = TemplateVersion.objects.create(
        template=template,
        number=number + 1,
        content_hash=digest.hexdigest(),
        files=files,
        parameters_schema=SCHEMAS[folder],
        **fields,
    )
    template.current_version = version
    template.save(update_fields=["current_version"])
    return version


@pytest.fixture
def envs(db: None) -> dict[str, Environment]:
    return {
        "dev": Environment.objects.create(slug="dev", name="Dev", allows_ttl=True, order=1),
        "prod": Environment.objects.create(
            slug="prod", name="Prod", requires_approval=True, is_production=True, order=3
        ),
    }


@pytest.fixture
def state(aws: str, settings: Any, tmp_path: Path) -> str:
    """The moto server with the state bucket made; run dirs and plugin cache per test."""
    settings.IDP_WORK_DIR = tmp_path / "runs"
    settings.IDP_PLUGIN_CACHE_DIR = tmp_path.parent / "plugin-cache"
    ensure_state_bucket()
    return aws


@pytest.fixture
def echo(db: None) -> TemplateVersion:
    return register_module("tf_echo")


def request_module(
    actor: Any,
    team: Any,
    *,
    template: str = "tf-echo",
    env: str = "dev",
    name: str = "cfg",
    message: str = "hello",
    **kw: Any,
) -> Resource:
    """Request a fixture module (`tf-echo` unless told) through the service, as a user would."""
    return actions.request_resource(
        actor=actor,
        template=template,
        version=None,
        team=team,
        environment=env,
        name=name,
        parameters=kw.pop("parameters", {"message": message}),
        **kw,
    ).resource


def run_queued(resource: Resource, *, limit: int = 10) -> list[Run]:
    """Execute the resource's queued runs in order, in this process, until none is left."""
    done: list[Run] = []
    for _ in range(limit):
        run = resource.runs.filter(status=RunStatus.QUEUED).order_by("pk").first()
        if run is None:
            break
        RunTask(run.pk).run()
        run.refresh_from_db()
        done.append(run)
    resource.refresh_from_db()
    return done


def settle(resource: Resource, *wanted: str, timeout: float = 120.0) -> Resource:
    """Run the resource's queued runs here until it reaches one of `wanted`. With committed
    data (a live server's tests) a Celery worker of the session may take a run first: this
    then waits for it instead of finding nothing queued."""
    deadline = time.monotonic() + timeout
    while True:
        run_queued(resource)
        if resource.status in wanted:
            return resource
        assert resource.status not in ("failed", "rejected"), resource.last_error
        assert time.monotonic() < deadline, f"still {resource.status}, wanted {wanted}"
        time.sleep(0.2)
        resource.refresh_from_db()


@pytest.fixture
def drive() -> Callable[..., list[Run]]:
    return run_queued


def log_of(run: Run) -> str:
    return "".join(run.log_chunks.order_by("seq").values_list("text", flat=True))
