"""The engine keeps the cache current: an apply (real Terraform, S3 state on moto) caches its
state's summary, the next plan's start reads it with one HeadObject, and a changed apply
refreshes it."""

from __future__ import annotations

import pytest
from django.db import transaction

from provisioning import actions
from provisioning.choices import ResourceStatus, RunKind
from provisioning.models import StateSummary
from tests.provisioning.engine.conftest import echo, envs, request_module, run_queued, state
from tests.provisioning.state_cache.conftest import summary_of

__all__ = ["echo", "envs", "state"]  # the engine tests' fixtures, used here too

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_apply_caches_the_summary_and_the_next_plan_reads_it(
    alice, teams, envs, echo, state, s3_calls
) -> None:
    resource = request_module(
        alice, teams["payments"], parameters={"message": "one", "secret": "s3cret-1"}
    )
    run_queued(resource)
    assert resource.status == ResourceStatus.PROVISIONED, resource.last_error

    row = StateSummary.objects.get(resource=resource)  # written by the apply
    assert row.outputs["echo"] == "one" and row.addresses == ["terraform_data.echo"]
    assert row.sensitive_output_names == ["token"] and "s3cret-1" not in row.sensitive_outputs
    first_serial = row.serial
    s3_calls.clear()
    summary = summary_of(resource)
    assert summary.cached and s3_calls.sent == ["HeadObject"]
    assert summary.output("token") == "tok-s3cret-1"

    with transaction.atomic():
        actions.change_parameters(resource, {"message": "two"}, actor=alice)
    s3_calls.clear()
    runs = run_queued(resource)
    assert [r.kind for r in runs] == [RunKind.PLAN, RunKind.APPLY]
    plan, apply = runs
    # The plan's start: one HeadObject (the platform's own client; Terraform's are apart).
    assert s3_calls.sent.count("GetObject") == 1  # the apply's refresh, nothing else
    assert plan.state_serial == first_serial and apply.state_serial == first_serial

    row.refresh_from_db()
    assert row.outputs["echo"] == "two" and row.serial > first_serial
    assert summary_of(resource).cached
