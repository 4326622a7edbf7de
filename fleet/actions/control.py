"""Pause, resume and cancel a fleet upgrade; who may act on one; the one lookup of a fleet."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from idp import audit
from idp.actors import Person
from idp.rbac import has_team_perm, is_platform_admin
from idp.services import Conflict, Forbidden, ServiceError

from ..choices import FLEET_FINAL, AuditAction, FleetStatus, ItemStatus
from ..models import FleetUpgrade
from . import nudge
from .drive import move, wave_counts


def visible(user: Person) -> QuerySet[FleetUpgrade]:
    """The fleet upgrades `user` may see: their teams' (platform-wide ones: platform admins)."""
    return FleetUpgrade.objects.for_user(user).select_related(
        "template", "target_version", "team", "created_by"
    )


def get_fleet(user: Person, pk: Any) -> FleetUpgrade:
    """A fleet upgrade the user may see; another team's (or none) raises Http404."""
    try:
        return visible(user).get(pk=int(pk))
    except (FleetUpgrade.DoesNotExist, TypeError, ValueError):
        raise Http404("No such fleet upgrade") from None


def may_manage(user: Person, fleet: FleetUpgrade) -> bool:
    """Platform admins manage every fleet upgrade; maintainers those of their team."""
    if is_platform_admin(user):
        return True
    return fleet.team is not None and has_team_perm(user, fleet.team, "maintain_team")


def _require(user: Person, fleet: FleetUpgrade, what: str) -> None:
    if not may_manage(user, fleet):
        raise Forbidden(f"Only platform admins and the team's maintainers may {what} it")


def _locked(fleet: FleetUpgrade) -> FleetUpgrade:
    # `of=("self",)`: PostgreSQL locks no row of the nullable side of an outer join (team).
    return (
        FleetUpgrade.objects.select_for_update(of=("self",)).select_related("team").get(pk=fleet.pk)
    )


@transaction.atomic
def pause(fleet: FleetUpgrade, *, actor: Person, reason: str = "") -> FleetUpgrade:
    """Stop starting plans and applies; what is running finishes and is recorded."""
    fleet = _locked(fleet)
    _require(actor, fleet, "pause")
    if fleet.status in FLEET_FINAL or fleet.status == FleetStatus.PAUSED:
        raise Conflict(f"The fleet upgrade is {fleet.status}")
    before = fleet.status
    if not move(fleet, FleetStatus.PAUSED, pause_reason=reason or "Paused by hand"):
        raise Conflict("The fleet upgrade changed meanwhile; reload and try again")
    audit.record(
        AuditAction.PAUSED, actor=actor, target=fleet, details={"from": before, "reason": reason}
    )
    return fleet


@transaction.atomic
def resume(fleet: FleetUpgrade, *, actor: Person) -> FleetUpgrade:
    """Go on: planning if it was not finished, else the waves (a `planned` fleet starts its
    first wave). Failures of the current wave known now pause it no more."""
    fleet = _locked(fleet)
    _require(actor, fleet, "resume")
    if fleet.status not in (FleetStatus.PAUSED, FleetStatus.PLANNED):
        raise Conflict(f"Only a paused or planned fleet upgrade resumes (it is {fleet.status})")
    before = fleet.status
    to = FleetStatus.PLANNING if fleet.planned_at is None else FleetStatus.APPLYING
    failed = wave_counts(fleet, fleet.current_wave)[ItemStatus.FAILED]
    if not move(fleet, to, pause_reason="", acknowledged_failures=failed):
        raise Conflict("The fleet upgrade changed meanwhile; reload and try again")
    audit.record(
        AuditAction.RESUMED,
        actor=actor,
        target=fleet,
        details={"from": before, "to": to, "acknowledged_failures": failed},
    )
    nudge.on_commit(fleet.pk)
    return fleet


@transaction.atomic
def cancel(fleet: FleetUpgrade, *, actor: Person, reason: str = "") -> FleetUpgrade:
    """Stop for good: nothing more is planned or released; held plans are discarded (by
    the driver, on commit). Plans already released follow their normal approval."""
    fleet = _locked(fleet)
    _require(actor, fleet, "cancel")
    if fleet.status in FLEET_FINAL:
        raise Conflict(f"The fleet upgrade is {fleet.status}")
    if not isinstance(reason, str):
        raise ServiceError("A text is expected", field="reason")
    before = fleet.status
    if not move(fleet, FleetStatus.CANCELLED, finished_at=timezone.now()):
        raise Conflict("The fleet upgrade changed meanwhile; reload and try again")
    audit.record(
        AuditAction.CANCELLED, actor=actor, target=fleet, details={"from": before, "reason": reason}
    )
    nudge.on_commit(fleet.pk)
    return fleet
