"""A resource shared with another team "for use" is an upstream that team's resources may
take outputs from; shared read-only, or not shared, it reads as unknown."""

from __future__ import annotations

import pytest

from idp.choices import Role
from idp.services import ServiceError
from provisioning import actions
from provisioning.models import ResourceDependency

from .conftest import ask

pytestmark = pytest.mark.django_db


def subnets(name: str) -> dict:
    return {"subnet_ids": {"resource": name}}


@pytest.fixture
def ada(make_user, teams):
    return make_user("ada", team=teams["payments"], role=Role.ADMIN)


def test_only_a_use_share_feeds_another_teams_resource(alice, carol, ada, teams, envs, app):
    net = ask(alice, "net-fixture", "shared-net", {"prefix": "one"})
    with pytest.raises(ServiceError) as unknown:
        ask(carol, "app-fixture", "web", subnets("shared-net"), team="search")
    assert "Unknown resource" in unknown.value.errors["parameters.subnet_ids"][0]

    actions.share(net, actor=ada, team="search", level="read")
    with pytest.raises(ServiceError):
        ask(carol, "app-fixture", "web", subnets(str(net.pk)), team="search")
    assert not ResourceDependency.objects.exists()

    actions.share(net, actor=ada, team="search", level="use")
    web = ask(carol, "app-fixture", "web", subnets("shared-net"), team="search")
    assert web.parameters["subnet_ids"]["resource"] == net.pk
    assert ResourceDependency.objects.get(dependant=web).upstream == net
    # The request form offers it to carol (as a new request sees her); she may still do
    # nothing to it.
    carol = type(carol).objects.get(pk=carol.pk)
    assert net in actions.dependencies.candidates(carol, "net-fixture")
    assert actions.allowed_actions(net, carol) == set()
