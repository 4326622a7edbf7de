"""Dependencies between resources: a parameter that takes another resource's output.

A template marks such a parameter in `template.yaml` (`from_resource: {template, output}`,
the schema's `x-idp-resource-ref`). A request or change names the upstream resource instead
of a value (`{"resource": <id or name>}`); the action checks it here (`bind`) and keeps it
in the parameters in one canonical form, `{"resource": <id>, "name": ..., "output": ...}`,
with a `ResourceDependency` row per parameter (the newest configuration's: the proposal
while one is pending, else what is applied).

The value itself is read at plan time from the upstream's current outputs
(`run_inputs`, the runner's one call) and its digest recorded on the row. The engine holds a
dependant's plan while an upstream is on its way to being applied (`waiting_for`); a
destroy of a resource others depend on is refused (`live_dependants`, asked by
`changes.destroy_refusal`); and when an apply changes an output a dependant was planned
with, the dependant is planned again (`on_resource_moved`, a lifecycle listener), so its
approval rules judge the new plan.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q

from catalog.models import TemplateVersion
from catalog.services.schema import is_reference, resource_ref
from idp.actors import Person
from idp.models import Environment, Team
from idp.rbac import is_platform_admin, shared_ids, shared_with_team, team_ids
from idp.services import ServiceError

from ..causes import Cause, chain_of
from ..choices import (
    RESOURCE_GONE,
    AuditAction,
    ResourceEvent,
    ResourceStatus,
    RunKind,
    RunStatus,
)
from ..lifecycle import Moved
from ..models import Resource, ResourceDependency, Run
from ..references import (
    ON_ITS_WAY,
    WRITING,
    Unresolved,
    _properties,
    digest,
    links_of,
    references,
    run_inputs,
    waiting_for,
)
from ..sensitivity import is_sensitive_output

log = logging.getLogger(__name__)

S = ResourceStatus
__all__ = [
    "ON_ITS_WAY",
    "WRITING",
    "Unresolved",
    "digest",
    "links_of",
    "references",
    "run_inputs",
    "waiting_for",
]
# A dependant in one of these is re-planned when an output it was planned with changed.
REPLANNABLE = {S.PROVISIONED, S.AWAITING_APPROVAL, S.POLICY_FAILED}


@dataclass(frozen=True)
class Binding:
    """One parameter of a dependant bound to one output of an upstream resource."""

    parameter: str
    upstream: Resource
    output: str

    def reference(self) -> dict[str, Any]:
        """The canonical value kept in the parameters in place of the output's value."""
        return {"resource": self.upstream.pk, "name": self.upstream.name, "output": self.output}


# --- the action's check ---------------------------------------------------------------


def bind(
    version: TemplateVersion,
    values: Any,
    *,
    team: Team,
    environment: Environment,
    dependant: Resource | None = None,
) -> dict[str, Binding]:
    """Check every resource reference of `values` (the raw parameters of a request or a
    change); raises ServiceError naming each refused parameter (`parameters.<name>`).

    The upstream must be a live resource of the same team made from the template the
    parameter names, with that (non-sensitive) output, and not the dependant itself nor
    one that depends on it. It must be in the dependant's environment unless the template
    allows another (`from_resource.cross_environment`): a dev resource never feeds prod
    by accident. A name is looked up in the dependant's environment; another team's
    resource reads as unknown.
    """
    if not isinstance(values, dict):
        return {}
    props = _properties(version)
    errors: dict[str, list[str]] = {}
    bound: dict[str, Binding] = {}
    for name, value in values.items():
        ref = resource_ref(props.get(name))
        if ref is None or not is_reference(value):
            continue
        try:
            bound[name] = _bind_one(name, ref, value, team, environment, dependant)
        except ServiceError as exc:
            errors.setdefault(f"parameters.{name}", []).append(exc.message)
    if errors:
        raise ServiceError(next(iter(errors.values()))[0], errors=errors)
    return bound


def _bind_one(
    name: str,
    ref: dict[str, Any],
    value: dict[str, Any],
    team: Team,
    environment: Environment,
    dependant: Resource | None,
) -> Binding:
    key = value.get("resource")
    # The team's own resources, and those another team shared with it for use
    # (resource-level permissions); a name finds the team's own first.
    live = (
        Resource.objects.filter(Q(team=team) | Q(pk__in=shared_with_team(team, Resource, "use")))
        .exclude(status__in=RESOURCE_GONE)
        .select_related("template", "template_version", "environment")
    )
    upstream: Resource | None = None
    if isinstance(key, int) and not isinstance(key, bool):
        upstream = live.filter(pk=key).first()
    elif isinstance(key, str) and key.strip().isdigit():
        upstream = live.filter(pk=int(key)).first()
    elif isinstance(key, str) and key.strip():
        named = live.filter(name=key.strip(), environment=environment)
        upstream = named.filter(team=team).first() or named.first()
    else:
        raise ServiceError('Name the resource by id or name: {"resource": "main-vpc"}')
    if upstream is None:
        where = f" in {environment.slug}" if isinstance(key, str) and not key.isdigit() else ""
        raise ServiceError(f"Unknown resource {key!r} of team {team.slug}{where}")
    if upstream.environment_id != environment.pk and not ref.get("cross_environment"):
        raise ServiceError(
            f"{upstream.name} is in {upstream.environment.slug}; this parameter takes a "
            f"resource of {environment.slug} (the template allows no other environment)"
        )
    if upstream.template.slug != ref["template"]:
        raise ServiceError(
            f"{upstream.name} is a {upstream.template.slug} resource; this parameter takes "
            f"the {ref['output']} output of a {ref['template']} resource"
        )
    wanted = ref["output"]
    if value.get("output") not in (None, "", wanted):
        raise ServiceError(f"This parameter takes the {wanted} output, not {value['output']!r}")
    if dependant is not None and upstream.pk == dependant.pk:
        raise ServiceError("A resource cannot take a value from itself")
    if dependant is not None and dependant.pk in upstreams_of(upstream.pk):
        raise ServiceError(f"{upstream.name} already depends on this resource: that is a cycle")
    outputs = {o.get("name"): o for o in upstream.template_version.outputs or []}
    if wanted not in outputs and wanted not in (upstream.outputs or {}):
        raise ServiceError(f"{upstream.name} ({upstream.template_version}) has no {wanted} output")
    if is_sensitive_output(wanted, outputs.get(wanted), upstream):
        raise ServiceError(f"The {wanted} output is sensitive: it cannot be passed on")
    return Binding(name, upstream, wanted)


def upstreams_of(resource_id: int) -> set[int]:
    """Every resource `resource_id` depends on, directly or through others."""
    seen: set[int] = set()
    frontier = {resource_id}
    while frontier:
        ups = set(
            ResourceDependency.objects.filter(dependant_id__in=frontier).values_list(
                "upstream_id", flat=True
            )
        )
        frontier = ups - seen
        seen |= ups
    return seen


def canonical(values: dict[str, Any], bound: dict[str, Binding]) -> dict[str, Any]:
    """The parameters with each reference in its canonical form."""
    return {name: bound[name].reference() if name in bound else v for name, v in values.items()}


def record(dependant: Resource, links: dict[str, tuple[int, str]]) -> None:
    """Make the dependant's rows say `links` (parameter -> (upstream id, output)); a row
    whose upstream or output changed forgets the digest it was planned with."""
    ResourceDependency.objects.filter(dependant=dependant).exclude(parameter__in=links).delete()
    for parameter, (upstream_id, output) in links.items():
        row, created = ResourceDependency.objects.get_or_create(
            dependant=dependant,
            parameter=parameter,
            defaults={"upstream_id": upstream_id, "output": output},
        )
        if not created and (row.upstream_id, row.output) != (upstream_id, output):
            ResourceDependency.objects.filter(pk=row.pk).update(
                upstream_id=upstream_id, output=output, value_digest=""
            )


def record_bindings(dependant: Resource, bound: dict[str, Binding]) -> None:
    record(dependant, {name: (b.upstream.pk, b.output) for name, b in bound.items()})


def live_dependants(resource: Resource) -> list[Resource]:
    """The resources that take a value from this one and still exist (or may yet)."""
    return list(
        Resource.objects.filter(dependencies__upstream=resource)
        .exclude(status__in=RESOURCE_GONE)
        .exclude(archived_at__isnull=False, provisioned_at__isnull=True)
        .select_related("environment")
        .distinct()
        .order_by("name")
    )


def destroy_order(resources: Iterable[Resource]) -> list[list[Resource]]:
    """Resources in layers to destroy one after the other: dependants before what they
    depend on (a bulk or fleet destroy starts a layer once the one before it is gone)."""
    pending = {r.pk: r for r in resources}
    dependants_of: dict[int, set[int]] = defaultdict(set)
    edges = ResourceDependency.objects.filter(
        upstream_id__in=list(pending), dependant_id__in=list(pending)
    ).values_list("upstream_id", "dependant_id")
    for upstream_id, dependant_id in edges:
        dependants_of[upstream_id].add(dependant_id)
    layers: list[list[Resource]] = []
    while pending:
        layer = [r for pk, r in pending.items() if not dependants_of[pk] & set(pending)]
        if not layer:  # a cycle (refused by `bind`, so never): the rest together
            layer = list(pending.values())
        layers.append(sorted(layer, key=lambda r: r.pk))
        for r in layer:
            pending.pop(r.pk)
    return layers


def candidates(user: Person, template_slug: str) -> list[Resource]:
    """The resources a form offers for a parameter taking an output of `template_slug`:
    the user's teams' live resources of that template."""
    usable = Q(team_id__in=team_ids(user, "use_team") or []) | Q(
        pk__in=shared_ids(user, Resource, "use")
    )
    if is_platform_admin(user):
        usable = Q()
    return list(
        Resource.objects.filter(usable)
        .filter(template__slug=template_slug, archived_at__isnull=True)
        .exclude(status__in=RESOURCE_GONE)
        .select_related("team", "environment")
        .order_by("team__slug", "environment__order", "name")
    )


# --- reacting to upstream changes (a lifecycle listener) -----------------------------


def replan_if_stale(resource_id: int, *, because: Resource | None = None) -> Run | None:
    """Plan the dependant again when an output it was planned with changed since (the
    system acts; its approval rules judge the plan). Nothing when it is busy or gone: its
    next settling asks again."""
    from .changes import is_busy, locked, start_plan
    from .proposals import base, pending_plan

    with transaction.atomic():
        resource = locked(Resource(pk=resource_id))
        if resource.status not in REPLANNABLE or resource.archived_at or is_busy(resource):
            return None
        pending = pending_plan(resource)
        if pending is not None and pending.is_destroy:
            return None  # a destroy waiting for its decision is not turned into a change
        stale = [
            row
            for row in resource.dependencies.select_related("upstream")
            if row.value_digest
            and row.output in (row.upstream.outputs or {})
            and digest(row.upstream.outputs[row.output]) != row.value_digest
        ]
        if not stale:
            return None
        upstreams = sorted({str(row.upstream) for row in stale})
        cause = because or stale[0].upstream
        # The upstreams' applies that changed the outputs: the one of `cause` is named in the
        # dependant's audit, and everyone who touched any of those changes is an author of
        # this plan (four eyes across dependencies).
        applied = _last_apply(cause.pk)
        authors: set[int] = set()
        for apply in _applies_since_read(resource, {row.upstream_id for row in stale}):
            authors |= chain_of(apply)
        return start_plan(
            resource,
            base(resource),
            actor=Cause("upstream output changed", frozenset(authors), applied),
            action=AuditAction.REPLANNED,
            details={
                "reason": "upstream output changed",
                "upstreams": upstreams,
                "because": str(cause),
                "upstream_run": applied.pk if applied else None,
                "parameters": sorted(row.parameter for row in stale),
                "outputs": sorted({row.output for row in stale}),
            },
        )


def _last_apply(resource_id: int) -> Run | None:
    """The resource's last successful apply (the one that wrote its current outputs)."""
    return (
        Run.objects.filter(resource_id=resource_id, kind=RunKind.APPLY, status=RunStatus.SUCCEEDED)
        .order_by("-pk")
        .first()
    )


def _applies_since_read(dependant: Resource, upstream_ids: set[int]) -> list[Run]:
    """The upstreams' successful applies that may have changed what the dependant's last
    plan read: each upstream's last one, and every one that ended after that plan started
    (several changes may have landed while the dependant was busy)."""
    applies = Run.objects.filter(
        resource_id__in=upstream_ids, kind=RunKind.APPLY, status=RunStatus.SUCCEEDED
    )
    read_at = (
        Run.objects.filter(resource=dependant, kind=RunKind.PLAN, started_at__isnull=False)
        .order_by("-pk")
        .values_list("started_at", flat=True)
        .first()
    )
    found = {run.pk: run for run in applies.filter(finished_at__gte=read_at)} if read_at else {}
    for upstream_id in upstream_ids:
        last = _last_apply(upstream_id)
        if last is not None:
            found[last.pk] = last
    return list(found.values())


def _resync(resource_id: int) -> None:
    """After a proposal was applied or discarded, the rows follow what is applied."""
    resource = Resource.objects.select_related("template_version").filter(pk=resource_id).first()
    if resource is None or resource.status in RESOURCE_GONE:
        return
    record(resource, links_of(resource.template_version, dict(resource.parameters or {})))


def _nudge_waiting(upstream_id: int) -> None:
    from .. import dispatch

    waiting = Run.objects.filter(
        status=RunStatus.QUEUED,
        kind=RunKind.PLAN,
        resource__dependencies__upstream_id=upstream_id,
    ).values_list("pk", flat=True)
    for run_id in list(waiting):
        dispatch.send(run_id)


def on_resource_moved(moved: Moved) -> None:
    """The lifecycle listener (registered in `ProvisioningConfig.ready`, called on commit):
    wake dependants' plans that waited for this resource, keep the rows with what is
    applied, and re-plan dependants whose upstream's output changed. A failure here is
    logged, never raised into the transition that already committed."""
    try:
        if (
            moved.after in (S.PROVISIONED, S.FAILED)
            and ResourceDependency.objects.filter(dependant_id=moved.resource_id).exists()
        ):
            _resync(moved.resource_id)
        if not ResourceDependency.objects.filter(upstream_id=moved.resource_id).exists():
            if moved.after == S.PROVISIONED:
                replan_if_stale(moved.resource_id)
            return
        _nudge_waiting(moved.resource_id)
        if moved.after == S.PROVISIONED:
            upstream = Resource.objects.get(pk=moved.resource_id)
            if moved.event in (ResourceEvent.APPLIED, ResourceEvent.STATE_PUSHED):
                for dependant in live_dependants(upstream):
                    replan_if_stale(dependant.pk, because=upstream)
            replan_if_stale(moved.resource_id)
    except Exception:  # noqa: BLE001 - the transition committed; the sweeper and the next move retry
        log.exception("dependencies: reacting to resource %s failed", moved.resource_id)


def register() -> None:
    from .. import lifecycle

    lifecycle.on_resource_moved(on_resource_moved)
