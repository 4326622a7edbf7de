"""Runs in the database for the status and metrics tests (rows, no Terraform); the live
contract run's seeded platform (live_contract.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from catalog.models import Template, TemplateVersion
from catalog.services import sync_templates
from idp import services
from idp.choices import Role
from idp.models import Environment, Team
from provisioning.actions import request_resource


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


@pytest.fixture
def seeded(transactional_db: None, make_team: Any, make_user: Any) -> str:
    """A team, a platform admin in it with a read/write/approve/admin token, the shipped
    templates, two environments and a resource; answers the token."""
    team = make_team("payments")
    make_team("platform")
    admin = make_user("padmin")
    services.set_platform_admin(admin, True)
    services.set_membership(team, admin, Role.ADMIN)
    services.upsert_environment("dev", name="Development", order=10, allows_ttl=True)
    services.upsert_environment(
        "prod", name="Production", order=30, requires_approval=True, is_production=True
    )
    assert sync_templates().ok
    request_resource(
        actor=admin,
        template="example-config",
        version=None,
        team="payments",
        environment="dev",
        name="greeting",
        parameters={"message": "hello"},
    )
    return services.create_api_token(
        admin, name="schemathesis", scopes=["read", "write", "approve", "admin"]
    )[1]
