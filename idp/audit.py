"""The audit log: every state change calls `record`, from a request or a worker alike."""

from __future__ import annotations

from typing import Any

from django.db import models

from .actors import Person, signed_in
from .context import client_ip_var, request_id_var, run_id_var
from .models import AuditEvent, ServiceAccount, Team

SYSTEM_ACTOR = "system"


def team_of(obj: models.Model) -> Team | None:
    """The team owning `obj`, followed along the model's `team_field` path (default "team")."""
    if isinstance(obj, Team):
        return obj
    path = getattr(type(obj), "team_field", "team")
    current: Any = obj
    for name in path.split("__"):
        current = getattr(current, name, None)
        if current is None:
            return None
    return current if isinstance(current, Team) else None


def record(
    action: str,
    *,
    actor: Person | None = None,
    target: models.Model | None = None,
    team: Team | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one AuditEvent; request id and client IP come from the current context."""
    user = signed_in(actor)
    details = dict(details or {})
    account = ServiceAccount.of(user) if user is not None else None
    if account is not None:
        # Automation acts as itself; the person answerable for it is named beside it.
        creator = account.created_by
        details.setdefault(
            "service_account_created_by", creator.get_username() if creator else None
        )
    run_id = run_id_var.get()
    if run_id != "-":
        details.setdefault("run_id", run_id)
    if team is None and target is not None:
        team = team_of(target)
    request_id = request_id_var.get()
    return AuditEvent.objects.create(
        actor=user,
        actor_name=user.get_username() if user is not None else SYSTEM_ACTOR,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:300] if target is not None else "",
        team=team,
        details=details,
        ip_address=client_ip_var.get(),
        request_id="" if request_id == "-" else request_id,
    )
