"""`idp resources change ID -p key=value`: the values given merged onto the pending (or
current) ones, sent as PATCH; another team's resource answers 404.

The plan a change queues may be run at once by the session's worker (another test of this
process started it): the local AWS API is there for it, and the status shown is whatever
the plan has reached."""

from __future__ import annotations

import pytest

from provisioning.choices import RunKind
from provisioning.models import Run
from tests.provisioning.surfaces.conftest import (  # noqa: F401 - fixtures
    envs,
    make_resource,
    make_run,
    template,
)


@pytest.mark.django_db(transaction=True)
def test_change_merges_onto_the_current_parameters(
    cli,
    token_for,
    alice,
    carol,
    teams,
    make_resource,  # noqa: F811
    aws,
):
    # The surfaces' template takes `message` (a string) and `token` (sensitive).
    resource = make_resource(teams["payments"], "cfg", parameters={"message": "hello"})
    token = token_for(alice)
    result = cli("resources", "change", str(resource.pk), "-p", "message=changed", token=token)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    plan = Run.objects.get(resource=resource, kind=RunKind.PLAN)
    assert plan.parameters == {"message": "changed"}
    assert "message=changed" in result.stdout
    assert "status" in result.stdout
    assert any(s in result.stdout for s in ("planning", "applying", "provisioned")), result.stdout

    theirs = cli("resources", "change", str(resource.pk), "-p", "message=x", token=token_for(carol))
    assert theirs.exit_code != 0 and "404" in theirs.stderr


@pytest.mark.django_db(transaction=True)
def test_change_keeps_what_it_was_not_told(cli, token_for, alice, teams, make_resource, aws):  # noqa: F811
    from provisioning.crypto import decrypt_json

    resource = make_resource(teams["payments"], "keep", parameters={"message": "stay"})
    result = cli(
        "resources", "change", str(resource.pk), "-p", "token=s3cret", token=token_for(alice)
    )
    assert result.exit_code == 0, (result.stdout, result.stderr)
    plan = Run.objects.get(resource=resource, kind=RunKind.PLAN)
    assert plan.parameters == {"message": "stay"}  # merged: the message was kept
    assert decrypt_json(plan.sensitive_parameters) == {"token": "s3cret"}
    assert "s3cret" not in result.stdout
