"""Fixtures of the fleet tests: a two-version fixture template (provider-free), environments
sandbox → dev → prod, and helpers that drive a fleet as the beat sweeper would."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError

from catalog.models import Template, TemplateVersion
from fleet import actions as fleet_actions
from fleet.models import FleetUpgrade
from idp.models import Environment
from provisioning.engine.dbretry import retry_locked

MODULES = Path(__file__).resolve().parent / "modules"
SCHEMA = {
    "type": "object",
    "properties": {"message": {"type": "string"}},
    "required": ["message"],
    "additionalProperties": False,
}


@retry_locked  # SQLite in memory: the worker may hold a table this instant
def register(folder: str, *, slug: str = "fleet-echo") -> TemplateVersion:
    """Register a module folder as the template's next (and current) version."""
    root = MODULES / folder
    files = {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*.tf"))}
    template, _ = Template.objects.get_or_create(slug=slug, defaults={"title": slug})
    number = template.versions.order_by("-number").values_list("number", flat=True).first() or 0
    version = TemplateVersion.objects.create(
        template=template,
        number=number + 1,
        content_hash=hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest(),
        files=files,
        parameters_schema=SCHEMA,
    )
    template.current_version = version
    template.save(update_fields=["current_version"])
    return version


@pytest.fixture
def fleet_envs(db: None) -> dict[str, Environment]:
    return {
        "sandbox": Environment.objects.create(slug="sandbox", name="Sandbox", order=0),
        "dev": Environment.objects.create(slug="dev", name="Dev", order=1),
        "prod": Environment.objects.create(
            slug="prod", name="Prod", requires_approval=True, is_production=True, order=3
        ),
    }


def drive_until(fleet: FleetUpgrade, done: Any, what: str, timeout: float = 240) -> FleetUpgrade:
    """Advance the fleet here (as the beat sweeper would) until `done(fleet)`; the Celery
    worker runs Terraform (and may advance the fleet too, on its nudges)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fleet_actions.advance(fleet.pk)
            fleet.refresh_from_db()
            if done(fleet):
                return fleet
        except OperationalError:  # SQLite: a worker holds the database this instant
            pass
        assert time.monotonic() < deadline, f"timed out waiting for {what} ({fleet.status})"
        time.sleep(0.3)


def api_retry(call: Any, *args: Any, **kwargs: Any) -> Any:
    """An API call from the test thread, again while SQLite in memory answers "table is
    locked" (503) because the worker writes this instant (PostgreSQL in CI never does)."""
    for _ in range(50):
        try:
            answer = call(*args, **kwargs)
        except OperationalError:  # raised through the test client before it answers
            time.sleep(0.2)
            continue
        if answer.status_code != 503:
            return answer
        time.sleep(0.2)
    return call(*args, **kwargs)
