"""`idp resources show` and `idp resources diff` print the policy results of the latest plan."""

from __future__ import annotations

import pytest

from tests.cli.conftest import one_error_line
from tests.provisioning.surfaces.conftest import (  # noqa: F401 - fixtures
    envs,
    make_resource,
    make_run,
    template,
)
from tests.provisioning.surfaces.test_policy_surfaces import held  # noqa: F401 - fixture


@pytest.mark.django_db(transaction=True)
def test_the_cli_prints_the_policy_results(held, cli, token_for, alice):  # noqa: F811
    resource, plan = held()
    token = token_for(alice)
    shown = cli("resources", "show", str(resource.pk), token=token)
    assert shown.exit_code == 0, shown.output
    assert "BLOCKED" in shown.output
    # Printed as text, not as rich markup (which would swallow the bracketed address).
    assert "example_replicas [terraform_data.config]" in shown.output
    diff = cli("resources", "diff", str(resource.pk), "--no-color", token=token)
    assert diff.exit_code == 0, diff.output
    assert "Policies: 1 passed, 0 warnings, 1 failures - BLOCKED" in diff.output
    assert "failure: example_replicas [terraform_data.config]" in diff.output


@pytest.mark.django_db(transaction=True)
def test_the_cli_refuses_to_approve_a_held_plan(held, cli, token_for, bob):  # noqa: F811
    resource, _ = held()
    refused = cli("resources", "approve", str(resource.pk), token=token_for(bob))
    assert refused.exit_code != 0
    assert "fails a mandatory policy (example_replicas" in one_error_line(refused)
