"""A fleet upgrade as JSON: what the API answers and the CLI prints (one shape)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from . import actions
from .models import FleetUpgrade


def current_wave(fleet: FleetUpgrade) -> int:
    """The wave at work, from 1, never above the count: the driver moves `current_wave` past
    the last wave as it completes (so a finished fleet of 2 waves is on "wave 2 of 2")."""
    count = len(fleet.waves or [])
    return min(fleet.current_wave + 1, count)


def fleet_json(
    fleet: FleetUpgrade, *, user: Any = None, counts: dict[str, int] | None = None
) -> dict[str, Any]:
    """The fleet upgrade with its progress (the list row and the head of the detail);
    `counts`: its items by status, when a list read them for the whole page."""
    return {
        "id": fleet.pk,
        "template": fleet.template.slug,
        "target_version": fleet.target_version.number,
        "target_version_label": fleet.target_version.display,
        "team": fleet.team.slug if fleet.team else None,
        "status": fleet.status,
        "selection": fleet.selection,
        "current_wave": current_wave(fleet),
        "wave_count": len(fleet.waves or []),
        "parallelism": fleet.parallelism,
        "failure_threshold": fleet.failure_threshold,
        "auto_apply": fleet.auto_apply,
        "pause_reason": fleet.pause_reason,
        "created_by": fleet.created_by.get_username() if fleet.created_by else None,
        "created_at": fleet.created_at,
        "planned_at": fleet.planned_at,
        "finished_at": fleet.finished_at,
        "progress": actions.progress(fleet, counts),
        "may_manage": actions.may_manage(user, fleet) if user is not None else False,
        "url": reverse("fleet:detail", args=[fleet.pk]),
    }


def items_json(fleet: FleetUpgrade) -> list[dict[str, Any]]:
    """Every resource of the fleet with its wave, status, plan result and runs."""
    rows = fleet.items.select_related(
        "resource", "resource__team", "resource__environment", "from_version"
    ).only(
        "wave",
        "status",
        "group",
        "plan_run_id",
        "apply_run_id",
        "error",
        "updated_at",
        "from_version__number",
        "from_version__label",
        "resource__name",
        "resource__status",
        "resource__team__slug",
        "resource__environment__slug",
    )
    return [
        {
            "resource": {"id": i.resource_id, "name": i.resource.name},
            "team": i.resource.team.slug,
            "environment": i.resource.environment.slug,
            "resource_status": i.resource.status,
            "wave": i.wave + 1,
            "status": i.status,
            "group": i.group or None,
            "from_version": i.from_version.number,
            "from_version_label": i.from_version.display,
            "plan_run": i.plan_run_id,
            "apply_run": i.apply_run_id,
            "error": i.error,
            "updated_at": i.updated_at,
        }
        for i in rows
    ]


def detail_json(fleet: FleetUpgrade, *, user: Any = None) -> dict[str, Any]:
    """The whole fleet upgrade: progress, waves, plan results grouped by kind and by
    identical change, per-resource status."""
    return {
        **fleet_json(fleet, user=user),
        "waves": actions.waves(fleet),
        "groups": actions.groups(fleet),
        "change_groups": actions.change_groups(fleet),
        "items": items_json(fleet),
    }
