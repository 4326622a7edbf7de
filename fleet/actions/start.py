"""Starting a fleet upgrade: who may, which resources it selects, and how they form waves."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet, TextField
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast

from catalog.models import Template, TemplateVersion
from catalog.services.sources import version_refusal
from idp import audit
from idp.actors import Person, signed_in
from idp.models import Environment, Team
from idp.rbac import is_platform_admin, team_ids
from idp.services import Conflict, Forbidden, ServiceError
from provisioning.actions import rules
from provisioning.choices import RESOURCE_GONE
from provisioning.models import Resource

from ..choices import FLEET_ACTIVE, AuditAction, ItemStatus, PlanGroup
from ..models import FleetItem, FleetUpgrade
from . import nudge

SELECTION_KINDS = ("all", "team", "environment", "resources")
MAX_PARALLELISM = 100
# The resource parameters a `key=value` tag filter looks in (maps of strings).
TAG_PARAMETERS = ("tags", "labels")


def resolve_template(value: Any) -> Template:
    template = value if isinstance(value, Template) else None
    if template is None:
        template = Template.objects.filter(slug=str(value or "")).first()
    if template is None:
        raise ServiceError(f"Unknown template {value!r}", field="template")
    return template


def _strings(value: Any, field: str) -> list[str]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        raise ServiceError("A list of names is expected", field=field)
    return list(dict.fromkeys(value))


def _ids(value: Any) -> list[int]:
    if not isinstance(value, list | tuple) or not value:
        raise ServiceError("A non-empty list of resource ids is expected", field="resources")
    ids = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | str):
            raise ServiceError(f"Not a resource id: {item!r}", field="resources")
        try:
            ids.append(int(item))
        except ValueError:
            raise ServiceError(f"Not a resource id: {item!r}", field="resources") from None
    return list(dict.fromkeys(ids))


def _teams(value: Any, maintained: list[int] | None) -> list[str]:
    """Team slugs the actor may select; another team's reads as unknown."""
    slugs = _strings(value, "teams")
    teams = Team.objects.filter(slug__in=slugs)
    if maintained is not None:
        teams = teams.filter(pk__in=maintained)
    found = {t.slug for t in teams}
    unknown = [s for s in slugs if s not in found]
    if unknown or not slugs:
        raise ServiceError(f"Unknown teams: {', '.join(unknown) or '-'}", field="teams")
    return slugs


def _environments(value: Any) -> list[str]:
    slugs = _strings(value, "environments")
    found = set(Environment.objects.filter(slug__in=slugs).values_list("slug", flat=True))
    unknown = [s for s in slugs if s not in found]
    if unknown or not slugs:
        raise ServiceError(
            f"Unknown environments: {', '.join(unknown) or '-'}", field="environments"
        )
    return slugs


def _from_versions(template: Template, value: Any) -> list[TemplateVersion]:
    """The template's versions a resource may run now to be selected: numbers or labels."""
    if isinstance(value, str | int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list | tuple) or not value:
        raise ServiceError("A list of version numbers or labels is expected", field="from_versions")
    found: dict[int, TemplateVersion] = {}
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | str) or item == "":
            raise ServiceError(f"Not a version: {item!r}", field="from_versions")
        try:
            version = rules.resolve_version(template, item)
        except ServiceError as error:
            raise ServiceError(error.message, field="from_versions") from None
        found[version.pk] = version
    return list(found.values())


def _tags(value: Any) -> list[tuple[str, str]]:
    """`key=value` pairs (or an object of them): every one must match a resource's
    `tags` or `labels` parameter."""
    if isinstance(value, dict):
        value = [f"{k}={v}" for k, v in value.items()]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not value:
        raise ServiceError("A list of key=value tags is expected", field="tags")
    pairs: dict[str, str] = {}
    for item in value:
        key, sep, text = item.partition("=") if isinstance(item, str) else ("", "", "")
        if not sep or not key.strip():
            raise ServiceError(f"Not a key=value tag: {item!r}", field="tags")
        pairs[key.strip()] = text.strip()
    return list(pairs.items())


def _with_tag(scope: QuerySet[Resource], n: int, key: str, value: str) -> QuerySet[Resource]:
    """The resources whose `tags` or `labels` parameter maps `key` to `value`."""
    # KeyTextTransform takes the key as data (any text), where a lookup path would not; the
    # cast makes the comparison one of text (not of JSON) on every database.
    names = {
        f"_tag{n}_{parameter}": Cast(
            KeyTextTransform(key, KeyTransform(parameter, "parameters")), TextField()
        )
        for parameter in TAG_PARAMETERS
    }
    matches = Q()
    for name in names:
        matches |= Q(**{name: value})
    return scope.alias(**names).filter(matches)


def select_resources(
    actor: Person, template: Template, selection: dict[str, Any]
) -> tuple[list[Resource], dict[str, Any]]:
    """The live resources of `template` the selection names, within what `actor` maintains
    (platform admins: every team). Another team's resource, team or an unknown one reads as
    unknown (400), never silently left out or included.

    The kind picks the resources (all, a team's, an environment's, a list); each filter
    given (teams, environments, from_versions, tags) narrows them further."""
    if not isinstance(selection, dict):
        raise ServiceError("An object with kind and values is expected", field="selection")
    kind = selection.get("kind") or "all"
    if kind not in SELECTION_KINDS:
        raise ServiceError(
            f"Unknown selection kind {kind!r}; one of {', '.join(SELECTION_KINDS)}",
            field="selection",
        )
    maintained = team_ids(actor, "maintain_team")
    if maintained == []:
        raise Forbidden("Only platform admins and team maintainers start fleet upgrades")
    # What the actor maintains, less the restricted resources they may not act on
    # (resource-level permissions): a fleet never changes those behind their backs.
    scope: QuerySet[Resource] = (
        Resource.objects.operable_by(actor, "maintain_team")
        .filter(template=template, archived_at__isnull=True)
        .exclude(status__in=RESOURCE_GONE)
    )
    stored: dict[str, Any] = {"kind": kind}
    if kind == "resources":
        ids = _ids(selection.get("resources"))
        chosen = scope.filter(pk__in=ids)
        found_ids = set(chosen.values_list("pk", flat=True))
        # Unknown, gone, another template's and another team's all read the same.
        unknown_ids = [str(i) for i in ids if i not in found_ids]
        restricted = Resource.objects.for_user(actor, "maintain_team").filter(
            pk__in=[int(i) for i in unknown_ids], restricted=True
        )
        if restricted:
            names = ", ".join(sorted(r.name for r in restricted))
            raise Forbidden(f"Restricted resources you may not act on: {names}")
        if unknown_ids:
            raise ServiceError(
                f"Unknown resources (or not of {template.slug}): {', '.join(unknown_ids)}",
                field="resources",
            )
        scope = chosen
        stored["resources"] = ids
    if kind == "team" or selection.get("teams"):
        slugs = _teams(selection.get("teams"), maintained)
        scope = scope.filter(team__slug__in=slugs)
        stored["teams"] = slugs
    if kind == "environment" or selection.get("environments"):
        slugs = _environments(selection.get("environments"))
        scope = scope.filter(environment__slug__in=slugs)
        stored["environments"] = slugs
    if selection.get("from_versions"):
        versions = _from_versions(template, selection["from_versions"])
        scope = scope.filter(template_version__in=versions)
        stored["from_versions"] = [v.display for v in versions]
    if selection.get("tags"):
        pairs = _tags(selection["tags"])
        for n, (key, value) in enumerate(pairs):
            scope = _with_tag(scope, n, key, value)
        stored["tags"] = [f"{k}={v}" for k, v in pairs]
    resources = list(scope.select_related("team", "environment", "template_version").order_by("pk"))
    if not resources:
        raise ServiceError(
            f"No live resource of {template.slug} matches the selection", field="selection"
        )
    return resources, stored


def _wave_spec(
    waves: Any, percentages: Any, resources: Sequence[Resource]
) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """The waves (name, environments or cumulative percent) and each resource's wave.

    Default: one wave per environment of the selection, in the environments' order
    (sandbox → dev → staging → prod as they are ordered)."""
    if waves and percentages:
        raise ServiceError("Give waves or percentages, not both", field="waves")
    envs = sorted(
        {r.environment.pk: r.environment for r in resources}.values(),
        key=lambda e: (e.order, e.slug),
    )
    if percentages:
        if not isinstance(percentages, list | tuple) or not all(
            isinstance(p, int) and not isinstance(p, bool) for p in percentages
        ):
            raise ServiceError("A list of whole percentages is expected", field="percentages")
        steps = list(percentages)
        if any(b <= a for a, b in zip(steps, steps[1:], strict=False)) or not (
            steps[0] > 0 and steps[-1] == 100
        ):
            raise ServiceError(
                "Percentages must rise from above 0 to exactly 100 (e.g. 10, 50, 100)",
                field="percentages",
            )
        rank = {e.pk: i for i, e in enumerate(envs)}
        ordered = sorted(resources, key=lambda r: (rank[r.environment_id], r.pk))
        assignment: dict[int, int] = {}
        start = 0
        for index, percent in enumerate(steps):
            end = math.ceil(len(ordered) * percent / 100)
            for resource in ordered[start:end]:
                assignment[resource.pk] = index
            start = max(start, end)
        return [{"name": f"{p}%", "percent": p} for p in steps], assignment
    if waves:
        if not isinstance(waves, list | tuple):
            raise ServiceError("A list of waves (lists of environments) is expected", field="waves")
        groups = [
            _strings(w.get("environments") if isinstance(w, dict) else w, "waves") for w in waves
        ]
    else:
        groups = [[e.slug] for e in envs]
    seen: dict[str, int] = {}
    for index, group in enumerate(groups):
        for slug in group:
            if slug in seen:
                raise ServiceError(f"Environment {slug} is in two waves", field="waves")
            seen[slug] = index
    missing = sorted({r.environment.slug for r in resources} - set(seen))
    if missing:
        raise ServiceError(
            f"Selected resources are in environments no wave names: {', '.join(missing)}",
            field="waves",
        )
    spec = [{"name": " + ".join(group), "environments": group} for group in groups]
    return spec, {r.pk: seen[r.environment.slug] for r in resources}


def _int(value: Any, field: str, low: int, high: int, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ServiceError(
            f"A whole number from {low} to {high} is expected", field=field
        ) from None
    if isinstance(value, bool) or not low <= number <= high:
        raise ServiceError(f"A whole number from {low} to {high} is expected", field=field)
    return number


@dataclass(frozen=True)
class FleetPreview:
    """What starting a fleet upgrade would select: the resources it would move, those it
    would skip because they already run the target version, and those busy elsewhere."""

    template: Template
    target: TemplateVersion
    selection: dict[str, Any]
    resources: list[Resource]
    busy: dict[int, int]  # resource id -> the active fleet upgrade it is in

    @property
    def moving(self) -> list[Resource]:
        return [r for r in self.resources if r.template_version_id != self.target.pk]

    @property
    def skipped(self) -> list[Resource]:
        return [r for r in self.resources if r.template_version_id == self.target.pk]

    @property
    def refusal(self) -> str | None:
        """Why starting is refused although the selection is valid: nothing would move."""
        if self.moving:
            return None
        name = self.target.display
        return (
            f"Every selected resource already runs version {name} ({name} → {name} changes "
            "nothing): choose another version or other resources"
        )


def preview_fleet_upgrade(
    *,
    actor: Person,
    template: Template | str,
    version: TemplateVersion | int | str | None,
    selection: dict[str, Any] | None = None,
) -> FleetPreview:
    """The resources a fleet upgrade with these arguments would select, under the same rules
    as starting it (the same errors); writes nothing."""
    template = resolve_template(template)
    target: TemplateVersion = rules.resolve_version(template, version)
    if refusal := version_refusal(target):
        raise ServiceError(refusal, field="version")
    resources, stored = select_resources(actor, template, selection or {})
    if not is_platform_admin(actor) and len({r.team_id for r in resources}) != 1:
        raise ServiceError(
            "Select resources of one team you maintain (select by team)", field="selection"
        )
    busy = dict(
        FleetItem.objects.filter(
            resource__in=resources, fleet__status__in=FLEET_ACTIVE
        ).values_list("resource_id", "fleet_id")
    )
    return FleetPreview(template, target, stored, resources, busy)


@transaction.atomic
def start_fleet_upgrade(
    *,
    actor: Person,
    template: Template | str,
    version: TemplateVersion | int | str | None,
    selection: dict[str, Any] | None = None,
    waves: Any = None,
    percentages: Any = None,
    parallelism: Any = None,
    failure_threshold: Any = None,
    auto_apply: bool = True,
) -> FleetUpgrade:
    """Select the resources, fix their waves and queue the planning (on commit).

    Platform admins may select any resources; a team maintainer only resources of one team
    they maintain. A resource already in another active fleet upgrade is a conflict.
    Resources already on the target version are recorded as unchanged; when every selected
    one is, there is nothing to upgrade (400 on `version`)."""
    chosen = preview_fleet_upgrade(
        actor=actor, template=template, version=version, selection=selection
    )
    if chosen.refusal:
        raise ServiceError(chosen.refusal, field="version")
    template, target, stored, resources = (
        chosen.template,
        chosen.target,
        chosen.selection,
        chosen.resources,
    )
    teams = {r.team_id for r in resources}
    spec, assignment = _wave_spec(waves, percentages, resources)
    if chosen.busy:
        busy = sorted(chosen.busy.items())[:5]
        listed = ", ".join(f"resource {r} (fleet upgrade {f})" for r, f in busy)
        raise Conflict(f"Already in an active fleet upgrade: {listed}", field="selection")
    fleet = FleetUpgrade.objects.create(
        template=template,
        target_version=target,
        team_id=next(iter(teams)) if len(teams) == 1 else None,
        selection=stored,
        waves=spec,
        parallelism=_int(parallelism, "parallelism", 1, MAX_PARALLELISM, 10),
        failure_threshold=_int(failure_threshold, "failure_threshold", 0, 100, 0),
        auto_apply=bool(auto_apply),
        created_by=signed_in(actor),
    )
    FleetItem.objects.bulk_create(
        FleetItem(
            fleet=fleet,
            resource=r,
            from_version_id=r.template_version_id,
            wave=assignment[r.pk],
            **(
                {"status": ItemStatus.UNCHANGED, "group": PlanGroup.NO_OP}
                if r.template_version_id == target.pk
                else {}
            ),
        )
        for r in resources
    )
    audit.record(
        AuditAction.STARTED,
        actor=actor,
        target=fleet,
        team=fleet.team,
        details={
            "template": template.slug,
            "version": target.number,
            "selection": stored,
            "resources": len(resources),
            "waves": [w["name"] for w in spec],
        },
    )
    nudge.on_commit(fleet.pk)
    return fleet
