"""Work the scheduler starts: drift checks, expiry of resources, expiry of pending plans."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from idp import audit

from .. import dispatch
from ..causes import Cause
from ..choices import RUN_ACTIVE, AuditAction, ResourceEvent, ResourceStatus, RunKind
from ..models import Resource, Run
from . import proposals
from .changes import locked, start_plan
from .dependencies import live_dependants

log = logging.getLogger(__name__)

DRIFT_CHECK = "scheduled drift check"


def detect_drift(resources: Iterable[Resource] | None = None) -> list[Run]:
    """Queue a refresh-only plan for each provisioned resource without an active run."""
    qs = (
        Resource.objects.filter(status=ResourceStatus.PROVISIONED)
        if resources is None
        else resources
    )
    runs: list[Run] = []
    for resource in qs:
        with transaction.atomic():
            current = locked(resource)
            if (
                current.status != ResourceStatus.PROVISIONED
                or current.runs.filter(status__in=RUN_ACTIVE).exists()
            ):
                continue
            run = dispatch.new_run(current, RunKind.DRIFT, actor=Cause(DRIFT_CHECK))
            audit.record(AuditAction.DRIFT_CHECK_QUEUED, target=current, details={"run": run.pk})
            runs.append(run)
    return runs


def expire_resources(now: datetime | None = None) -> list[Resource]:
    """Plan the destruction of resources whose expiry has passed (the system acts)."""
    now = now or timezone.now()
    due = Resource.objects.filter(
        expires_at__lte=now,
        status__in=[ResourceStatus.PROVISIONED, ResourceStatus.FAILED],
    )
    expired: list[Resource] = []
    for resource in due:
        with transaction.atomic():
            current = locked(resource)
            if current.runs.filter(status__in=RUN_ACTIVE).exists():
                continue
            # Expiry obeys the destroy rule: never pull a resource from under its dependants.
            if dependants := live_dependants(current):
                log.warning(
                    "resource %s expired but is not destroyed: %s depend on it",
                    current.pk,
                    ", ".join(str(d) for d in dependants),
                )
                continue
            # The expiry may have been cleared since the query: then it stays.
            if current.expires_at is None or current.status not in (
                ResourceStatus.PROVISIONED,
                ResourceStatus.FAILED,
            ):
                continue
            # Whoever asked for the expiry (set only on request) caused its destroy.
            authors = {current.requested_by_id} if current.requested_by_id else set()
            start_plan(
                current,
                proposals.current(current),
                actor=Cause("expiry", frozenset(authors)),
                action=ResourceEvent.EXPIRED,
                event=ResourceEvent.EXPIRED,
                is_destroy=True,
                details={"expires_at": current.expires_at.isoformat()},
            )
            expired.append(current)
    return expired


def forget_old_plans(now: datetime | None = None) -> int:
    """Drop the stored JSON of plans older than IDP_PLAN_RETENTION_DAYS (what-ifs replay
    only what is kept); a plan still waiting for a decision or a fix keeps it. The plan's
    summary, text, hash and policy results stay."""
    from idp.conf import setting

    cutoff = (now or timezone.now()) - timedelta(days=setting("IDP_PLAN_RETENTION_DAYS"))
    waiting = (ResourceStatus.AWAITING_APPROVAL, ResourceStatus.POLICY_FAILED)
    old = (
        Run.objects.filter(kind=RunKind.PLAN, created_at__lt=cutoff)
        .exclude(plan_document="")
        .exclude(resource__status__in=waiting, pk__gt=F("resource__proposal_after_run"))
    )
    return old.update(plan_document="")
