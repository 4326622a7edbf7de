"""A fleet has at most one nudge waiting for a worker, however many of its resources move:
every message is a whole step of the fleet on a worker that also runs its plans."""

from __future__ import annotations

import os
import threading
import uuid
from typing import Any

import pytest
from celery.signals import before_task_publish
from django.utils import timezone

from fleet import hooks
from fleet.choices import ItemStatus
from fleet.models import FleetItem, FleetUpgrade
from fleet.tasks import advance_fleet
from provisioning.models import Resource

from .conftest import register


def redis_cache() -> dict[str, Any]:
    """The broker's Redis as a shared cache (keys of this test alone), or skip."""
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("redis://"):
        pytest.skip("no Redis broker: no shared cache to test with")
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }


def fleet_of(team: Any, actor: Any, count: int) -> tuple[FleetUpgrade, list[Resource]]:
    version = register("v1")
    fleet = FleetUpgrade.objects.create(
        template=version.template,
        target_version=version,
        team=team,
        selection={"kind": "all"},
        waves=[],
        status="applying",
        created_by=actor,
    )
    resources = []
    for i in range(count):
        resource = Resource.objects.create(
            team=team,
            template=version.template,
            template_version=version,
            environment=fleet_env(),
            name=f"nudged-{i}",
            parameters={"message": "x"},
            status="applying",
            provisioned_at=timezone.now(),
        )
        FleetItem.objects.create(
            fleet=fleet, resource=resource, from_version=version, status=ItemStatus.APPLYING
        )
        resources.append(resource)
    return fleet, resources


def fleet_env() -> Any:
    from idp.models import Environment

    return Environment.objects.get_or_create(slug="dev", defaults={"name": "Dev"})[0]


@pytest.fixture
def sent() -> Any:
    """The fleet ids of the driver's messages sent during the test (of this thread alone:
    a worker thread another test left may still be sending)."""
    fleets: list[int] = []
    me = threading.get_ident()

    def count(sender: Any = None, body: Any = None, **kw: Any) -> None:
        if str(sender) == "fleet.advance_fleet" and threading.get_ident() == me:
            fleets.append(int(body[0][0]))

    before_task_publish.connect(count, weak=False)
    yield fleets
    before_task_publish.disconnect(count)


def test_a_fleet_has_one_nudge_waiting_until_its_step_starts(settings) -> None:
    settings.CACHES = redis_cache()
    assert hooks.shared_cache()
    # Fleet ids no fleet has: the session's worker (another test of this process may have
    # left it stepping a fleet of its own) shares these settings and this cache.
    seven, eight = 10**9 + 7, 10**9 + 8
    # Five resources of fleet "seven" move: one message; fleet "eight"'s own.
    assert [hooks.first_nudge(seven) for _ in range(5)] == [True, False, False, False, False]
    assert hooks.first_nudge(eight)
    # The step begins: a move from now on may be one it does not see, so it nudges again.
    hooks.drive_started(seven)
    assert [hooks.first_nudge(seven) for _ in range(3)] == [True, False, False]


@pytest.mark.django_db
def test_without_a_shared_cache_every_move_nudges(alice, teams, sent) -> None:
    fleet, resources = fleet_of(teams["payments"], alice, 3)
    assert not hooks.shared_cache()
    for resource in resources:
        hooks._nudge(resource.pk)
    assert sent.count(fleet.pk) == 3
    assert advance_fleet.name == "fleet.advance_fleet"  # the message counted above
