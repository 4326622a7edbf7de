"""Partials other apps' pages include: {% load monitoring %}{% resource_alarms resource %}."""

from __future__ import annotations

from typing import Any

from django import template

from ..models import AlarmState
from ..services.rightsizing import hints_for, hints_for_many

register = template.Library()


@register.inclusion_tag("monitoring/_resource_alarms.html")
def resource_alarms(resource: Any) -> dict[str, Any]:
    """The CloudWatch alarms of a resource with their state."""
    return {"resource": resource, "alarms": AlarmState.objects.filter(resource=resource)}


@register.inclusion_tag("monitoring/_hints.html")
def resource_hints(resource: Any) -> dict[str, Any]:
    return {"hints": hints_for(resource)}


@register.inclusion_tag("monitoring/_hints.html")
def service_hints(service: Any) -> dict[str, Any]:
    return {"hints": hints_for_many(service.resources.all()), "show_resource": True}


@register.inclusion_tag("monitoring/_hints.html")
def team_hints(team: Any) -> dict[str, Any]:
    return {"hints": hints_for_many(team.resources.all()), "show_resource": True}
