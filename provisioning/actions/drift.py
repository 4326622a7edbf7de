"""Drift that gets fixed: what a drift check found (expected → actual), who hears of it
(once per new drift), and the two ways out.

- `reconcile`: a normal plan of the resource's current configuration, applied like any
  change (through approval where the environment's policy wants it). Whoever starts it is
  an author of the change, so they never approve it (four eyes).
- `accept_drift`: a `-refresh-only` plan, applied (same approval policy): the real values
  become the record (state and outputs). Audited when requested and when applied.
- What a check found is `provisioning.drift_found`; what happens then is the workflow's
  (`workflow.drift_checked`): it stores the flag, the expected → actual changes (masked)
  and a fingerprint; a drift whose fingerprint differs from the one last notified is news:
  the owning team is told (on commit) and, in an environment with `auto_reconcile_drift`,
  it is reconciled. A check that finds no drift clears the fingerprint.
"""

from __future__ import annotations

from django.db import transaction

from idp.actors import Person
from idp.services import Conflict, ServiceError

from .. import workflow
from ..choices import AuditAction
from ..drift_found import CHANGE_LIMIT, EXISTS, GONE, Found, found_drift
from ..models import Resource, Run
from . import proposals, rules
from .changes import locked, start_plan, started
from .results import PlanPurpose, PlanStarted
from .types import Starter

DRIFT_ACTIONS = frozenset({"reconcile", "accept_drift"})

__all__ = ["CHANGE_LIMIT", "EXISTS", "GONE", "Found", "found_drift"]


# --- the two ways out ----------------------------------------------------------------------


def drift_refusal(resource: Resource, user: Person) -> ServiceError | None:
    """Why `user` may not reconcile or accept the resource's drift now (None: they may; a
    `user` of None is the platform itself). Team members may; viewers never."""
    if user is not None:
        forbidden = rules.refusal_on(user, resource, "use_team", "reconcile or accept drift")
        if forbidden is not None:
            return forbidden
    refusal = workflow.drift_refusal(resource)
    return Conflict(refusal) if refusal is not None else None


def drift_actions(resource: Resource, user: Person) -> set[str]:
    """The drift actions `user` may take on the resource now (for pages and the API)."""
    return set(DRIFT_ACTIONS) if drift_refusal(resource, user) is None else set()


def reconcile_locked(resource: Resource, *, actor: Starter, automatic: bool = False) -> Run:
    """Queue the reconcile plan on a resource the caller locked and checked (`actor`: the
    person asking, or the `Cause` of an automatic reconcile)."""
    return start_plan(
        resource,
        proposals.current(resource),
        actor=actor,
        action=AuditAction.DRIFT_RECONCILE_REQUESTED,
        details={**workflow.drift_summary(resource), "automatic": automatic},
    )


@transaction.atomic
def reconcile(resource: Resource, *, actor: Person) -> PlanStarted:
    """Bring a drifted resource back to its declared configuration: a normal plan of what
    was last applied, then its apply (after approval where the environment needs it)."""
    resource = locked(resource)
    refusal = drift_refusal(resource, actor)
    if refusal is not None:
        raise refusal
    return started(resource, reconcile_locked(resource, actor=actor), PlanPurpose.RECONCILE)


@transaction.atomic
def accept_drift(resource: Resource, *, actor: Person) -> PlanStarted:
    """Record the real values as intended: a `-refresh-only` plan, applied (after approval
    where the environment needs it). The configuration stays what it is; the state and the
    outputs take the real values."""
    resource = locked(resource)
    refusal = drift_refusal(resource, actor)
    if refusal is not None:
        raise refusal
    run = start_plan(
        resource,
        proposals.current(resource),
        actor=actor,
        action=AuditAction.DRIFT_ACCEPT_REQUESTED,
        details=workflow.drift_summary(resource),
        refresh_only=True,
    )
    return started(resource, run, PlanPurpose.ACCEPT_DRIFT)
