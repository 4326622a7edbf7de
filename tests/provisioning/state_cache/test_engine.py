"""The engine keeps the cache current: an apply (real Terraform, S3 state on moto) caches its
state's summary, the next plan's start reads it with one HeadObject, and a changed apply
refreshes it. The apply takes its sensitive outputs from that summary, not from another
Terraform process (`terraform output`), unless the state cannot be read."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from provisioning import actions
from provisioning.choices import ResourceStatus, RunKind
from provisioning.crypto import decrypt_json
from provisioning.engine import state_cache
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


@pytest.fixture
def commands(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The Terraform commands the runs start (their first arguments)."""
    from provisioning.engine.terraform import Terraform

    seen: list[list[str]] = []
    original = Terraform.sequence

    def sequence(self: Terraform, steps: Any, *args: Any, **kwargs: Any) -> Any:
        seen.extend(list(step.args[:2]) for step in steps)
        return original(self, steps, *args, **kwargs)

    monkeypatch.setattr(Terraform, "sequence", sequence)
    return seen


def test_an_apply_takes_sensitive_outputs_from_the_state_it_stored(
    alice, teams, envs, echo, state, commands
) -> None:
    resource = request_module(
        alice, teams["payments"], parameters={"message": "hi", "secret": "s3cret-2"}
    )
    run_queued(resource)

    assert resource.status == ResourceStatus.PROVISIONED, resource.last_error
    assert decrypt_json(resource.sensitive_outputs) == {"token": "tok-s3cret-2"}
    assert resource.outputs["echo"] == "hi" and resource.sensitive_output_names == ["token"]
    assert ["apply", "-input=false"] in commands
    assert ["output", "-json"] not in commands  # no Terraform process to read them again


def test_an_apply_whose_state_cannot_be_read_asks_terraform_for_its_outputs(
    alice, teams, envs, echo, state, commands, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreadable(resource: Any) -> None:
        raise OSError("the state bucket is unreachable")

    monkeypatch.setattr(state_cache, "refresh", unreadable)
    resource = request_module(
        alice, teams["payments"], parameters={"message": "hi", "secret": "s3cret-3"}
    )
    run_queued(resource)

    assert resource.status == ResourceStatus.PROVISIONED, resource.last_error
    assert decrypt_json(resource.sensitive_outputs) == {"token": "tok-s3cret-3"}
    assert ["output", "-json"] in commands
    assert not StateSummary.objects.filter(resource=resource).exists()
