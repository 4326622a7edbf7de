"""Runs in the database for the status and metrics tests (rows, no Terraform)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from catalog.models import Template, TemplateVersion
from idp.models import Environment, Team


@pytest.fixture
def make_run(db: None, teams: dict[str, Team]) -> Callable[..., Any]:
    """A Run row of a given kind/status and duration, on a throwaway resource."""
    from provisioning.models import Resource, Run

    counter = {"n": 0}

    def make(kind: str, status: str, seconds: float | None = None, ago: float = 60) -> Any:
        counter["n"] += 1
        env, _ = Environment.objects.get_or_create(slug="dev", defaults={"name": "Dev"})
        template, _ = Template.objects.get_or_create(
            slug="metrics-fixture", defaults={"title": "M"}
        )
        version, _ = TemplateVersion.objects.get_or_create(
            template=template, number=1, defaults={"content_hash": "x" * 64}
        )
        resource = Resource.objects.create(
            team=teams["payments"],
            template=template,
            template_version=version,
            environment=env,
            name=f"r{counter['n']}",
        )
        finished = timezone.now() - timedelta(seconds=ago)
        started = finished - timedelta(seconds=seconds) if seconds is not None else None
        return Run.objects.create(
            resource=resource,
            kind=kind,
            status=status,
            template_version=version,
            started_at=started,
            finished_at=finished if seconds is not None else None,
        )

    return make
