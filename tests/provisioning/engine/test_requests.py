"""Requests: bad input refused with field errors and nothing queued; idempotency keys."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from idp.services import Conflict, Forbidden, ServiceError
from provisioning import actions
from provisioning.choices import ResourceStatus, RunKind, RunStatus
from provisioning.models import Resource, Run

from .conftest import register_module


def req(actor: Any, **overrides: Any) -> Any:
    kw: dict[str, Any] = {
        "actor": actor,
        "template": "tf-echo",
        "version": None,
        "team": "payments",
        "environment": "dev",
        "name": "cfg",
        "parameters": {"message": "hi"},
    }
    kw.update(overrides)
    return actions.request_resource(**kw).resource


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"template": "nope"}, "template"),
        ({"version": 99}, "version"),
        ({"version": "x"}, "version"),
        ({"environment": "mars"}, "environment"),
        ({"team": "nobody"}, "team"),
        ({"name": "Not A Slug"}, "name"),
        ({"service": "unknown-svc"}, "service"),
        ({"environment": "prod", "expires_at": timezone.now() + timedelta(days=1)}, "expires_at"),
        ({"expires_at": timezone.now() - timedelta(days=1)}, "expires_at"),
    ],
)
def test_bad_input_is_a_field_error_and_nothing_is_queued(
    alice, teams, envs, echo, overrides, field
) -> None:
    with pytest.raises(ServiceError) as err:
        req(alice, **overrides)
    assert err.value.status == 400
    assert field in (err.value.detail if isinstance(err.value.detail, dict) else {}), err.value
    assert not Resource.objects.exists() and not Run.objects.exists()


@pytest.mark.django_db
def test_parameters_failing_the_schema(alice, teams, envs, echo) -> None:
    for params in ({}, {"message": 5}, {"message": "x", "unknown": 1}):
        with pytest.raises(ServiceError) as err:
            req(alice, parameters=params)
        assert err.value.status == 400
        assert any(k.startswith("parameters") for k in err.value.detail), err.value.detail
    assert not Run.objects.exists()


@pytest.mark.django_db
def test_environment_not_allowed_by_the_template(alice, teams, envs) -> None:
    register_module("tf_echo", allowed_environments=["prod"])
    with pytest.raises(ServiceError) as err:
        req(alice)
    assert err.value.field == "environment"


@pytest.mark.django_db
def test_permissions_and_unique_names(alice, carol, teams, envs, echo, make_user) -> None:
    with pytest.raises(ServiceError) as err:
        req(carol)  # not a member of payments: the team reads as unknown
    assert err.value.field == "team" and err.value.status == 400
    viewer = make_user("vic", team=teams["payments"], role="viewer")
    with pytest.raises(Forbidden):
        req(viewer)
    first = req(alice)
    assert first.status == ResourceStatus.PENDING
    with pytest.raises(Conflict) as err:
        req(alice)
    assert err.value.field == "name"
    other_env = req(alice, environment="prod")  # same name in another environment is fine
    assert other_env.pk != first.pk


@pytest.mark.django_db
def test_idempotency_key_returns_the_same_resource(alice, bob, teams, envs, echo) -> None:
    first = req(alice, idempotency_key="key-1")
    again = req(alice, idempotency_key="key-1", name="ignored")
    assert again.pk == first.pk
    assert Run.objects.filter(resource=first).count() == 1  # no second plan
    other_user = req(bob, idempotency_key="key-1", name="cfg-bob")
    assert other_user.pk != first.pk
    assert Resource.objects.count() == 2


@pytest.mark.django_db
def test_a_request_says_what_it_queued_and_a_replay_that_it_queued_nothing(
    alice, teams, envs, echo
) -> None:
    requested = actions.request_resource(
        actor=alice,
        template="tf-echo",
        version=None,
        team="payments",
        environment="dev",
        name="cfg",
        parameters={"message": "hi"},
        idempotency_key="key-2",
    )
    assert requested.created and requested.resource.status == ResourceStatus.PENDING
    plan = Run.objects.get(resource=requested.resource)
    assert requested.run == plan and plan.kind == RunKind.PLAN
    title = requested.resource.template.title
    assert requested.message == f"Requested cfg from {title}; its first plan is queued."
    again = actions.request_resource(
        actor=alice,
        template="tf-echo",
        version=None,
        team="payments",
        environment="dev",
        name="ignored",
        parameters={},
        idempotency_key="key-2",
    )
    assert not again.created and again.run is None
    assert again.resource.pk == requested.resource.pk
    assert "requested already with this idempotency key" in again.message


@pytest.mark.django_db
def test_ttl_only_where_allowed_and_expiry_plans_destroy(alice, teams, envs, echo) -> None:
    resource = req(alice, expires_at=timezone.now() + timedelta(hours=1))
    Resource.objects.filter(pk=resource.pk).update(
        status=ResourceStatus.PROVISIONED, provisioned_at=timezone.now()
    )
    Run.objects.filter(resource=resource).update(status=RunStatus.SUCCEEDED)
    assert actions.expire_resources() == []  # not yet
    expired = actions.expire_resources(now=timezone.now() + timedelta(hours=2))
    assert [r.pk for r in expired] == [resource.pk]
    resource.refresh_from_db()
    assert resource.status == ResourceStatus.DESTROYING
    run = resource.runs.order_by("-pk").first()
    assert run.kind == RunKind.PLAN and run.is_destroy and run.status == RunStatus.QUEUED
    assert actions.expire_resources(now=timezone.now() + timedelta(hours=2)) == []
