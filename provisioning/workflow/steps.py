"""What every event's handler shares: the step a decider answers (`Next`, `Step`), the
resource row locked, and a step's status move carried out."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from idp.actors import Person
from idp.db import lock

from .. import lifecycle
from ..choices import ResourceEvent, ResourceStatus
from ..models import Resource

S = ResourceStatus
E = ResourceEvent


class Next(StrEnum):
    """What the workflow does after a step's status move."""

    NOTHING = "nothing"  # the status move (if any) is all
    AWAIT_APPROVAL = "await_approval"
    QUEUE_APPLY = "queue_apply"  # the apply (or destroy) of exactly the plan's file
    HOLD = "hold"  # a held plan waits to be released (the resource stays planning)
    ADOPT = "adopt"  # a plan with nothing to do: its proposal becomes the configuration
    POLICY_GATE = "policy_gate"  # a mandatory policy fails: waits for a fix or an override
    REFRESH_AND_PLAN = "refresh_and_plan"  # a lost run changed the state: plan what is there
    RECORD = "record"  # keep the status, record the error


@dataclass(frozen=True)
class Step:
    """The workflow's answer: where the resource goes, by which event, and what follows."""

    next: Next
    to: ResourceStatus | None = None
    event: ResourceEvent | None = None
    discard: bool = False  # the pending proposal is dropped
    needs_approval: bool = False


def lock_resource(resource_id: int) -> Resource:
    # Only the resource row: parent rows locked FOR UPDATE deadlock a request's commit.
    return lock(Resource.objects.select_related("team", "environment")).get(pk=resource_id)


def counts(summary: dict[str, Any] | None) -> dict[str, int]:
    summary = summary or {}
    return {key: int(summary.get(key, 0) or 0) for key in ("add", "change", "destroy")}


def move(
    resource: Resource,
    step: Step,
    *,
    actor: Person | None = None,
    fields: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
    action: str | None = None,
) -> None:
    assert step.to is not None and step.event is not None
    lifecycle.transition(
        resource, step.to, step.event, actor=actor, fields=fields, details=details, action=action
    )
