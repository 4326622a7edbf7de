"""Expiry obeys the destroy rule: an expired resource others depend on is not destroyed."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from provisioning.actions.scheduled import expire_resources
from provisioning.choices import ResourceStatus, RunStatus
from provisioning.models import Resource, Run

from .conftest import ask


def test_an_expired_upstream_stays_while_a_dependant_lives(alice, teams, envs, app) -> None:
    net = ask(alice, "net-fixture", "main", {"prefix": "one"})
    ask(alice, "app-fixture", "web", {"subnet_ids": {"resource": "main"}})
    lone = ask(alice, "net-fixture", "lone", {"prefix": "two"})
    past = timezone.now() - timedelta(hours=1)
    # As if both had been applied long ago: no run active, provisioned, expiry passed.
    Run.objects.filter(resource__in=[net, lone]).update(status=RunStatus.SUCCEEDED)
    Resource.objects.filter(pk__in=[net.pk, lone.pk]).update(
        status=ResourceStatus.PROVISIONED, expires_at=past
    )

    expired = expire_resources()

    assert [r.name for r in expired] == ["lone"]
    net.refresh_from_db()
    assert (
        net.status == ResourceStatus.PROVISIONED and not net.runs.filter(is_destroy=True).exists()
    )
