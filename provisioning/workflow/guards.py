"""Whether new work may start on a resource now: busy, gone, archived, or (for drift) not
provisioned or not drifted. Asked by the actions before they start anything, and by the
workflow before it reconciles on its own."""

from __future__ import annotations

from ..choices import RESOURCE_BUSY, RESOURCE_GONE, RUN_ACTIVE, RunKind
from ..models import Resource
from .steps import S


def is_busy(resource: Resource) -> bool:
    """A run works on the resource, or it is between the steps of one. A resource read with
    its `activity` (`access.with_activity`, the same question in its query) is not asked again:
    pages ask this of one resource several times."""
    if resource.status in RESOURCE_BUSY:
        return True
    if "activity" in resource.__dict__:
        return resource.activity is not None  # type: ignore[attr-defined]
    return resource.runs.filter(status__in=RUN_ACTIVE).exclude(kind=RunKind.DRIFT).exists()


def idle_refusal(resource: Resource) -> str | None:
    """Why no new work may start on the resource now (None: it may)."""
    if resource.status in RESOURCE_GONE:
        return f"The resource is {resource.status}"
    if resource.archived_at is not None:
        # Put away on purpose: work on it starts again only once someone takes it back.
        return "The resource is archived; unarchive it first"
    if is_busy(resource):
        return f"The resource is busy ({resource.status}); wait for its run to finish"
    return None


def drift_refusal(resource: Resource) -> str | None:
    """Why the resource's drift may not be reconciled or accepted now (None: it may)."""
    busy = idle_refusal(resource)
    if busy is not None:
        return busy
    if resource.status != S.PROVISIONED:
        return f"Only a provisioned resource has drift to fix (it is {resource.status})"
    if not resource.drifted:
        return "No drift was found at the last check: there is nothing to fix"
    return None
