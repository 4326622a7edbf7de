"""Day-2 work on a resource: each queues a plan of a proposed change (or of a destroy).

A proposal is staged on its plan run, never on the resource: the resource keeps what was
last applied until the apply of an approved plan succeeds. Everyone who starts or
re-plans a proposal becomes one of its authors, and no author approves it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from catalog.services.sources import version_refusal
from idp.actors import Person
from idp.db import lock
from idp.rbac import has_team_perm
from idp.services import Conflict, Forbidden, ServiceError

from .. import workflow
from ..causes import Cause
from ..choices import AuditAction, ResourceEvent, ResourceStatus, RunKind
from ..models import Resource, Run
from . import dependencies, proposals, rules
from .results import PlanPurpose, PlanStarted
from .types import Starter

# States from which a new plan (re-plan, change, upgrade, destroy) may start.
PLANNABLE = {
    ResourceStatus.PROVISIONED,
    ResourceStatus.FAILED,
    ResourceStatus.AWAITING_APPROVAL,
    ResourceStatus.POLICY_FAILED,
}


def locked(resource: Resource) -> Resource:
    """Re-read the resource with a row lock: every transition starts from the current row."""
    # Only the resource row (idp.db.lock): never the team, environment or template rows.
    return lock(
        Resource.objects.select_related("team", "environment", "template", "template_version")
    ).get(pk=resource.pk)


is_busy = workflow.is_busy


def ensure_idle(resource: Resource) -> None:
    refusal = workflow.idle_refusal(resource)
    if refusal is not None:
        raise Conflict(refusal)


def start_plan(
    resource: Resource,
    config: proposals.Config,
    *,
    actor: Starter,
    action: str,
    is_destroy: bool = False,
    details: dict[str, Any] | None = None,
    event: ResourceEvent | None = None,
    refresh_only: bool = False,
    hold: bool = False,
    recovers: Run | None = None,
) -> Run:
    """Queue a plan of `config` and move the resource to planning (or destroying); with
    `refresh_only`, a `-refresh-only` plan that accepts the real values as intended.
    `actor` is the person acting, or the `Cause` of a plan the platform starts (who caused
    it counts as an author of the change: four eyes)."""
    cause = Cause.of(actor)
    if event is None:
        event = ResourceEvent.DESTROY_REQUESTED if is_destroy else ResourceEvent.CHANGE_PLANNED
    if cause.person is None:
        details = {**(details or {}), "authors": authors_named(cause.authors)}
    return workflow.queue_plan(
        resource,
        config,
        cause=cause,
        event=event,
        action=action,
        is_destroy=is_destroy,
        refresh_only=refresh_only,
        hold=hold,
        recovers=recovers,
        details=details,
    )


def started(resource: Resource, run: Run, purpose: PlanPurpose) -> PlanStarted:
    """The outcome of an action that queued a plan of the resource."""
    return PlanStarted(resource, run, ResourceStatus(resource.status), purpose)


def authors_named(ids: Iterable[int]) -> list[str]:
    """The usernames of a chain's authors, for audit details."""
    users = get_user_model().objects.filter(pk__in=list(ids))
    return sorted(u.get_username() for u in users)


@transaction.atomic
def change_parameters(resource: Resource, parameters: Any, *, actor: Person) -> PlanStarted:
    """Plan the resource with new parameters (the approval policy judges the plan).

    The given parameters replace the ones of the change's base (the proposal awaiting
    approval, else what is applied); a sensitive parameter left out keeps its value there
    (it is never shown, so a form cannot send it back).
    """
    resource = locked(resource)
    rules.require_on(actor, resource, "use_team", "change resources")
    ensure_idle(resource)
    if not isinstance(parameters, dict):
        raise ServiceError("Parameters must be an object", field="parameters")
    start = proposals.base(resource)
    plain, secret = rules.clean_parameters(start.version, {**start.secret, **parameters})
    bound = dependencies.bind(
        start.version,
        plain,
        team=resource.team,
        environment=resource.environment,
        dependant=resource,
    )
    plain = dependencies.canonical(plain, bound)
    dependencies.record_bindings(resource, bound)
    config = proposals.Config(start.version, plain, secret)
    run = start_plan(
        resource,
        config,
        actor=actor,
        action=AuditAction.PARAMETERS_CHANGED,
        details={"changed": proposals.changed_names(start, config)},
    )
    return started(resource, run, PlanPurpose.CHANGE)


@transaction.atomic
def replan(resource: Resource, *, actor: Person) -> PlanStarted:
    """Plan again: the proposal awaiting approval if there is one, else what is applied.
    Whoever re-plans becomes an author of the change."""
    resource = locked(resource)
    rules.require_on(actor, resource, "use_team", "plan resources")
    ensure_idle(resource)
    pending = proposals.plan_awaiting_decision(resource)
    lost = proposals.unresolved_loss(resource) if pending is None else None
    run = start_plan(
        resource,
        proposals.base(resource),
        actor=actor,
        action=AuditAction.REPLANNED,
        is_destroy=bool(pending and pending.is_destroy) or bool(lost and lost.is_destroy),
        recovers=lost,
    )
    return started(resource, run, PlanPurpose.REPLAN)


@transaction.atomic
def upgrade(
    resource: Resource, version: Any = None, *, actor: Person, hold: bool = False
) -> PlanStarted:
    """Plan the resource on another template version (the current one by default).

    With `hold`, the plan does not go on to approval or apply when it succeeds: it waits,
    the resource staying `planning`, until `holds.release_held_plan` lets it go on (a fleet
    upgrade plans every resource first and applies wave by wave)."""
    resource = locked(resource)
    rules.require_on(actor, resource, "use_team", "upgrade resources")
    ensure_idle(resource)
    target = rules.resolve_version(resource.template, version)
    if refusal := version_refusal(target):  # a withdrawn version is no upgrade target
        raise ServiceError(refusal, field="version")
    start = proposals.base(resource)
    if target.pk == start.version.pk:
        raise Conflict(f"The resource already uses {target}", field="version")
    if not target.allows_environment(resource.environment.slug):
        raise ServiceError(
            f"{target} cannot be used in {resource.environment.slug}", field="version"
        )
    known = set((target.parameters_schema or {}).get("properties", {}) or {})
    # Parameters the new version dropped are left behind; new ones take their defaults.
    values = {k: v for k, v in start.values.items() if not known or k in known}
    plain, secret = rules.clean_parameters(target, values)
    run = start_plan(
        resource,
        proposals.Config(target, plain, secret),
        actor=actor,
        action=AuditAction.UPGRADE_PLANNED,
        details={"from": str(start.version), "to": str(target), "held": hold},
        hold=hold,
    )
    return started(resource, run, PlanPurpose.UPGRADE)


def was_applied(resource: Resource) -> bool:
    """Whether Terraform ever applied something for the resource: only then is there
    anything to destroy."""
    if resource.provisioned_at is not None or resource.status == ResourceStatus.PROVISIONED:
        return True
    # A first apply that failed midway may have left real objects (and state) behind.
    return resource.runs.filter(
        kind__in=(RunKind.APPLY, RunKind.DESTROY), started_at__isnull=False
    ).exists()


def destroy_refusal(resource: Resource, user: Person) -> ServiceError | None:
    """Why `user` may not request the destroy of the resource now; None when they may.

    The one rule behind `request_destroy` and the "destroy" of `allowed_actions`: team
    maintainers may destroy, members too where the environment allows it
    (`Environment.members_may_destroy`: sandbox and dev by default), viewers never; and only
    what was applied: a request that never was is withdrawn, rejected or archived instead.
    """
    team, env = resource.team, resource.environment
    refusal = rules.refusal_on(user, resource, "use_team", "destroy resources")
    if refusal is not None:
        return refusal
    if not has_team_perm(user, team, "maintain_team") and not env.members_may_destroy:
        return Forbidden(
            f"In {env.slug} only maintainers of {team.slug} may destroy resources; ask one of them"
        )
    try:
        ensure_idle(resource)
    except Conflict as busy:
        return busy
    if resource.status not in PLANNABLE:
        return Conflict(f"A resource that is {resource.status} cannot be destroyed")
    pending = (ResourceStatus.AWAITING_APPROVAL, ResourceStatus.POLICY_FAILED)
    if resource.status in pending and resource.provisioned_at is None:
        return Conflict(
            "The request was never applied: withdraw or reject it instead of destroying it"
        )
    if not was_applied(resource):
        return Conflict("Nothing was applied, so there is nothing to destroy; archive it instead")
    dependants = dependencies.live_dependants(resource)
    if dependants:
        names = ", ".join(f"{d.name} ({d.environment.slug})" for d in dependants)
        return Conflict(
            f"Other resources take values from this one: {names}; destroy them or change "
            "their parameters first"
        )
    return None


@transaction.atomic
def request_destroy(resource: Resource, *, actor: Person) -> PlanStarted:
    """Plan the destruction of the resource (`plan -destroy`, then approval rules, apply);
    `destroy_refusal` says who may, and when."""
    resource = locked(resource)
    refusal = destroy_refusal(resource, actor)
    if refusal is not None:
        raise refusal
    run = start_plan(
        resource,
        proposals.current(resource),
        actor=actor,
        action=ResourceEvent.DESTROY_REQUESTED,
        is_destroy=True,
    )
    return started(resource, run, PlanPurpose.DESTROY)


@transaction.atomic
def retry(resource: Resource, *, actor: Person) -> PlanStarted:
    """Start over after a failed run: a new plan of what the resource holds (a failed run's
    proposal was discarded; a failed destroy is planned as a destroy again). After a run
    whose outcome is unknown, its kept proposal is planned again, never the configuration
    before it; that plan needs approval if it would replace or destroy what was created."""
    resource = locked(resource)
    rules.require_on(actor, resource, "use_team", "retry runs")
    if resource.status != ResourceStatus.FAILED:
        raise Conflict(f"Only a failed resource can be retried (it is {resource.status})")
    ensure_idle(resource)
    lost = proposals.unresolved_loss(resource)
    if lost is not None and lost.plan_run is not None:
        run = start_plan(
            resource,
            proposals.proposed(lost.plan_run),
            actor=actor,
            action=AuditAction.RETRIED,
            is_destroy=lost.is_destroy,
            details={"failed_run": lost.pk, "outcome_unknown": True},
            recovers=lost,
        )
        return started(resource, run, PlanPurpose.RETRY)
    last = resource.runs.exclude(kind=RunKind.DRIFT).order_by("-pk").first()
    is_destroy = bool(last and last.is_destroy)
    run = start_plan(
        resource,
        proposals.current(resource),
        actor=actor,
        action=AuditAction.RETRIED,
        is_destroy=is_destroy,
        details={"failed_run": last.pk if last else None},
    )
    return started(resource, run, PlanPurpose.RETRY)
