"""Shared lookups for the provisioning ops commands: clear CommandErrors, never tracebacks."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from idp.services import ServiceError

from ...models import Resource


def get_resource(resource_id: Any) -> Resource:
    try:
        pk = int(resource_id)
    except (TypeError, ValueError):
        raise CommandError(f"Resource id must be a number, not {resource_id!r}.") from None
    resource = (
        Resource.objects.select_related("team", "environment", "template").filter(pk=pk).first()
    )
    if resource is None:
        raise CommandError(f"No resource with id {pk}.")
    return resource


def get_user(username: str) -> Any:
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"No user named {username!r}.")
    if not user.is_active:
        raise CommandError(f"User {username!r} is inactive.")
    return user


def service_error(error: ServiceError) -> CommandError:
    """A service's refusal as a CommandError naming the status and the field."""
    label = {403: "Not allowed", 409: "Conflict"}.get(error.status, "Refused")
    detail = error.detail
    if isinstance(detail, dict):
        detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in detail.items())
    return CommandError(f"{label}: {detail}")
