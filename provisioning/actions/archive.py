"""Archiving: a team puts away a request that came to nothing (failed or rejected) so it
leaves the lists; it stays reachable by id and in the audit log, and can be taken back.

Archiving is not a lifecycle status: the resource keeps the status it ended with, and
`archived_at` only says it is out of the way.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from idp import audit
from idp.actors import Person
from idp.services import Conflict, ServiceError

from ..choices import AuditAction, ResourceStatus
from ..models import Resource
from . import rules
from .changes import is_busy, locked, was_applied
from .results import Archived, Unarchived

# Requests that came to nothing: a failed one that never applied, a rejected or withdrawn one.
ARCHIVABLE = {ResourceStatus.FAILED, ResourceStatus.REJECTED}


def archive_refusal(resource: Resource, user: Person) -> ServiceError | None:
    """Why `user` may not archive the resource now; None when they may (members and up)."""
    refusal = rules.refusal_on(user, resource, "use_team", "archive resources")
    if refusal is not None:
        return refusal
    if resource.archived_at is not None:
        return Conflict("The resource is already archived")
    if resource.status not in ARCHIVABLE:
        return Conflict(
            "Only a failed or rejected request can be archived "
            f"(this resource is {ResourceStatus(resource.status).label.lower()})"
        )
    if is_busy(resource):
        return Conflict("The resource has a run in progress; wait for it to finish")
    if was_applied(resource):
        # Hiding it would hide real infrastructure: it has to be destroyed first.
        return Conflict(
            "Terraform applied this resource, so archiving would hide real infrastructure; "
            "destroy it instead"
        )
    return None


def unarchive_refusal(resource: Resource, user: Person) -> ServiceError | None:
    """Why `user` may not take the resource back into the lists; None when they may."""
    refusal = rules.refusal_on(user, resource, "use_team", "unarchive resources")
    if refusal is not None:
        return refusal
    if resource.archived_at is None:
        return Conflict("The resource is not archived")
    return None


@transaction.atomic
def archive(resource: Resource, *, actor: Person) -> Archived:
    """Archive a failed or rejected request: hidden from the lists, kept in audit."""
    resource = locked(resource)
    refusal = archive_refusal(resource, actor)
    if refusal is not None:
        raise refusal
    resource.archived_at = timezone.now()
    resource.save(update_fields=["archived_at"])
    audit.record(
        AuditAction.ARCHIVED, actor=actor, target=resource, details={"status": resource.status}
    )
    return Archived(resource)


@transaction.atomic
def unarchive(resource: Resource, *, actor: Person) -> Unarchived:
    """Bring an archived resource back into the lists (it keeps its status)."""
    resource = locked(resource)
    refusal = unarchive_refusal(resource, actor)
    if refusal is not None:
        raise refusal
    archived_at = resource.archived_at
    resource.archived_at = None
    resource.save(update_fields=["archived_at"])
    audit.record(
        AuditAction.UNARCHIVED,
        actor=actor,
        target=resource,
        details={
            "status": resource.status,
            "archived_at": archived_at.isoformat() if archived_at else None,
        },
    )
    return Unarchived(resource)
