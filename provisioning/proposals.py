"""The current configuration of a resource and its (at most one) proposed change.

What was last applied lives on the resource (`parameters`, `sensitive_parameters`,
`template_version`). A proposed change lives with its plan run: the staged parameters
(sensitive ones encrypted) and version. It becomes the resource's configuration only when
the apply of that plan succeeds; rejection, cancellation, expiry and a failed run discard it
by moving `proposal_after_run` past its plans.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Max

from catalog.models import TemplateVersion

from .choices import ResourceStatus, RunKind, RunStatus
from .crypto import decrypt_json
from .models import Resource, Run

HEAVY = ("plan_file",)


@dataclass
class Config:
    """A configuration: a template version and its parameters, split as stored."""

    version: TemplateVersion
    plain: dict[str, Any]
    secret: dict[str, Any]

    @property
    def values(self) -> dict[str, Any]:
        return {**self.plain, **self.secret}


def latest_plan(resource: Resource) -> Run | None:
    """The newest plan run of the resource (any status)."""
    return (
        Run.objects.filter(resource=resource, kind=RunKind.PLAN)
        .defer(*HEAVY)
        .order_by("-pk")
        .first()
    )


def pending_plan(resource: Resource) -> Run | None:
    """The newest plan of the pending proposed change (None: nothing proposed)."""
    return (
        Run.objects.filter(resource=resource, kind=RunKind.PLAN, pk__gt=resource.proposal_after_run)
        .select_related("template_version")
        .order_by("-pk")
        .first()
    )


def plan_awaiting_decision(resource: Resource) -> Run | None:
    """The plan reviewers decide on: the pending plan, when it succeeded and awaits approval."""
    if resource.status != ResourceStatus.AWAITING_APPROVAL:
        return None
    plan = pending_plan(resource)
    if plan is None or plan.status != RunStatus.SUCCEEDED or not plan.plan_hash:
        return None
    return plan


def current(resource: Resource) -> Config:
    return Config(
        resource.template_version,
        dict(resource.parameters or {}),
        decrypt_json(resource.sensitive_parameters),
    )


def proposed(plan: Run) -> Config:
    return Config(
        plan.template_version, dict(plan.parameters or {}), decrypt_json(plan.sensitive_parameters)
    )


def unresolved_loss(resource: Resource) -> Run | None:
    """The newest run of the pending proposal lost with its outcome unknown (the state moved
    while it ran): until a plan finds out, what exists is more likely its proposal."""
    return (
        Run.objects.filter(
            resource=resource,
            outcome_unknown=True,
            plan_run__pk__gt=resource.proposal_after_run,
        )
        .select_related("plan_run__template_version")
        .order_by("-pk")
        .first()
    )


def base(resource: Resource) -> Config:
    """What a new change starts from: the proposal awaiting approval, else the proposal of a
    run whose outcome is unknown, else what is current."""
    plan = plan_awaiting_decision(resource)
    if plan is None and (lost := unresolved_loss(resource)) is not None:
        plan = lost.plan_run
    return proposed(plan) if plan is not None else current(resource)


def last_run_id(resource: Resource) -> int:
    return int(Run.objects.filter(resource=resource).aggregate(m=Max("pk"))["m"] or 0)


def discard_fields(resource: Resource) -> dict[str, Any]:
    """Fields that end the pending proposal without adopting it."""
    return {"proposal_after_run": last_run_id(resource)}


def adopt_fields(resource: Resource, plan: Run) -> dict[str, Any]:
    """Fields that make the plan's proposal the resource's configuration."""
    return {
        "parameters": dict(plan.parameters or {}),
        "sensitive_parameters": plan.sensitive_parameters,
        "template_version": plan.template_version,
        "proposal_after_run": last_run_id(resource),
    }


def changed_names(before: Config, after: Config) -> list[str]:
    """Parameter names whose value differs (sensitive ones compared, never shown)."""
    a, b = before.values, after.values
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
