"""Fixtures of the Idempotency-Key tests: the provisioning surfaces' rows (environments, the
provider-free template, resources and runs made in the database, no Terraform)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from provisioning.choices import ResourceStatus
from provisioning.models import Resource
from tests.provisioning.surfaces.conftest import (  # noqa: F401 - fixtures
    envs,
    make_resource,
    make_run,
    template,
)


@pytest.fixture
def awaiting(make_resource, make_run, envs, teams, alice) -> Resource:  # noqa: F811
    """alice's prod request with a finished plan, waiting for a second pair of eyes."""
    resource = make_resource(
        teams["payments"],
        "app-config",
        environment=envs["prod"],
        status=ResourceStatus.AWAITING_APPROVAL,
        requested_by=alice,
    )
    make_run(
        resource,
        created_by=alice,
        plan_hash="a" * 64,
        finished_at=timezone.now(),
        plan_summary={"add": 1, "change": 0, "destroy": 0, "resources": []},
        plan_text="Plan: 1 to add, 0 to change, 0 to destroy.",
    )
    return resource


@pytest.fixture
def provisioned(make_resource, teams, alice) -> Resource:  # noqa: F811
    """A dev resource alice requested, applied, with nothing running."""
    return make_resource(teams["payments"], "dev-config", requested_by=alice)
