"""The catalog's hooks: the platform's own facts kept as entities as they change.

Registered in `SoftwareCatalogConfig.ready()`: a listener of provisioning's lifecycle (resources),
and post-save/delete receivers of teams, memberships and services. Each runs after the
change commits and never fails it: a sync that breaks is logged, and
`manage.py sync_catalog_entities` repairs the catalog from the records.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save

logger = logging.getLogger(__name__)


def _later(label: str, work: Callable[[], Any]) -> None:
    def run() -> None:
        try:
            work()
        except Exception:  # noqa: BLE001 - the change stands; the command repairs the catalog
            logger.exception("catalog entity sync after %s failed", label)

    transaction.on_commit(run)


def _team_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    from .services.entities import sync_team

    _later(f"team {instance.pk}", lambda: sync_team(instance))


def _team_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    from .services.entities.platform import forget

    _later(f"team {instance.pk}", lambda: forget(f"team:{instance.pk}"))


def _membership_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    from django.contrib.auth import get_user_model

    from .services.entities import sync_user

    user_id = instance.user_id

    def work() -> None:
        user = get_user_model().objects.filter(pk=user_id).first()
        if user is not None:
            sync_user(user)

    _later(f"membership of user {user_id}", work)


def _service_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    from .services.entities import sync_service

    _later(f"service {instance.pk}", lambda: sync_service(instance))


def _resource_moved(moved: Any) -> None:
    """Lifecycle listener (already called on commit)."""
    from .services.entities import sync_resource

    try:
        sync_resource(moved.resource_id)
    except Exception:  # noqa: BLE001 - the transition stands
        logger.exception("catalog entity sync of resource %s failed", moved.resource_id)


def register() -> None:
    from catalog.models import Service
    from idp.models import Membership, Team
    from provisioning import lifecycle

    post_save.connect(_team_saved, sender=Team, dispatch_uid="catalog-entities-team")
    post_delete.connect(_team_deleted, sender=Team, dispatch_uid="catalog-entities-team-del")
    post_save.connect(_membership_changed, sender=Membership, dispatch_uid="catalog-entities-m")
    post_delete.connect(
        _membership_changed, sender=Membership, dispatch_uid="catalog-entities-m-del"
    )
    post_save.connect(_service_saved, sender=Service, dispatch_uid="catalog-entities-service")
    lifecycle.on_resource_moved(_resource_moved)
