"""Alarms follow a resource's lifecycle: the engine only changes its status."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_init, post_save

_LOADED = "_monitoring_loaded_status"


def _remember(sender: Any, instance: Any, **kwargs: Any) -> None:
    instance.__dict__[_LOADED] = instance.__dict__.get("status")


def _on_save(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    before = None if created else instance.__dict__.get(_LOADED)
    after = instance.status
    instance.__dict__[_LOADED] = after
    # An unchanged status, or one not loaded (deferred) so its change is unknown.
    if before == after or (before is None and not created):
        return
    from .services import alarms
    from .services.cache import bump

    pk = instance.pk
    # Usage analytics read resource states: a changed state makes cached numbers stale.
    transaction.on_commit(lambda: bump(instance.team.slug))
    if after == "provisioned":
        transaction.on_commit(lambda: _run(alarms.on_resource_provisioned, pk))
    elif after == "destroyed":
        transaction.on_commit(lambda: _run(alarms.on_resource_destroyed, pk))


def _run(handler: Any, pk: int) -> None:
    from provisioning.models import Resource

    resource = (
        Resource.objects.select_related("team", "template", "template_version", "environment")
        .filter(pk=pk)
        .first()
    )
    if resource is not None:
        handler(resource)


def connect() -> None:
    from provisioning.models import Resource

    post_init.connect(_remember, sender=Resource, dispatch_uid="monitoring.remember_status")
    post_save.connect(_on_save, sender=Resource, dispatch_uid="monitoring.alarms_on_status")
