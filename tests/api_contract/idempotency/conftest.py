"""Fixtures of the Idempotency-Key tests: the provisioning surfaces' rows (environments, the
provider-free template, resources and runs made in the database, no Terraform)."""

from __future__ import annotations

import pytest

from provisioning.models import Resource
from tests.provisioning.surfaces.conftest import (  # noqa: F401 - fixtures
    awaiting,
    envs,
    make_resource,
    make_run,
    template,
)


@pytest.fixture
def provisioned(make_resource, teams, alice) -> Resource:  # noqa: F811
    """A dev resource alice requested, applied, with nothing running."""
    return make_resource(teams["payments"], "dev-config", requested_by=alice)
