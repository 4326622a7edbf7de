"""References between resources, as the engine needs them: a parameter that takes another
resource's output is read at plan time from the upstream's current outputs (`run_inputs`)
and a dependant's plan waits while an upstream is on its way (`waiting_for`). How a
reference is bound and what happens when an output changes is `actions.dependencies`."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db.models import Q

from catalog.models import TemplateVersion
from catalog.services.schema import is_reference, resource_ref

from .choices import RESOURCE_GONE, ResourceStatus, RunKind
from .models import Resource, ResourceDependency, Run

S = ResourceStatus
# An upstream in one of these (never applied yet) is on its way: its dependants' plans wait.
ON_ITS_WAY = {
    S.PENDING,
    S.PLANNING,
    S.AWAITING_APPROVAL,
    S.POLICY_FAILED,
    S.APPLYING,
    S.STATE_PENDING,
}
# An upstream in one of these is writing its outputs right now: dependants' plans wait too.
WRITING = {S.APPLYING, S.STATE_PENDING}


class Unresolved(Exception):
    """A reference that cannot be read at plan time (the upstream gone, or no such output)."""


def digest(value: Any) -> str:
    """The digest of an output value, recorded with the plan that used it."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _properties(version: TemplateVersion) -> dict[str, Any]:
    return dict((version.parameters_schema or {}).get("properties") or {})


def references(version: TemplateVersion, values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The values of `values` that name a resource, for parameters that take one."""
    props = _properties(version)
    return {
        name: value
        for name, value in values.items()
        if resource_ref(props.get(name)) is not None and is_reference(value)
    }


def links_of(version: TemplateVersion, values: dict[str, Any]) -> dict[str, tuple[int, str]]:
    """parameter -> (upstream id, output) of canonical references in stored parameters."""
    links: dict[str, tuple[int, str]] = {}
    for name, value in references(version, values).items():
        try:
            links[name] = (int(value["resource"]), str(value.get("output") or ""))
        except (TypeError, ValueError):
            continue
    props = _properties(version)
    for name, (upstream_id, output) in list(links.items()):
        if not output:  # not canonical (never through `bind`): the template's output
            ref = resource_ref(props.get(name)) or {}
            links[name] = (upstream_id, str(ref.get("output", "")))
    return links


# --- the engine's questions --------------------------------------------------------------


def run_inputs(run: Run, variables: dict[str, Any]) -> dict[str, Any]:
    """The run's inputs with each reference resolved: a plan (or drift check) reads the
    upstream's current output and records its digest; an apply leaves the value out, its
    saved plan holds the one it was planned with. Raises Unresolved."""
    refs = references(run.template_version, variables)
    if not refs:
        return variables
    resolved = dict(variables)
    for name, value in refs.items():
        if run.kind in (RunKind.APPLY, RunKind.DESTROY):
            resolved.pop(name)
            continue
        resolved[name] = _read_output(name, value)
        if run.kind == RunKind.PLAN:
            ResourceDependency.objects.filter(dependant_id=run.resource_id, parameter=name).update(
                value_digest=digest(resolved[name])
            )
    return resolved


def _read_output(name: str, value: dict[str, Any]) -> Any:
    try:
        upstream_id = int(value["resource"])
    except (TypeError, ValueError):
        raise Unresolved(f"{name}: {value.get('resource')!r} is not a resource id") from None
    upstream = Resource.objects.filter(pk=upstream_id).first()
    label = value.get("name") or upstream_id
    if upstream is None or upstream.status in RESOURCE_GONE:
        state = upstream.status if upstream else "gone"
        raise Unresolved(
            f"Parameter {name} takes a value from resource {label}, which is {state}; "
            "change the parameter to another resource"
        )
    output = str(value.get("output") or "")
    if output not in (upstream.outputs or {}):
        raise Unresolved(
            f"Parameter {name} takes the {output} output of {upstream.name}, which has none "
            f"(it is {upstream.status}); apply {upstream.name} first"
        )
    return upstream.outputs[output]


def waiting_for(run: Run) -> list[Resource]:
    """The upstreams a plan waits for: on their way to a first apply, or applying now.
    An upstream that failed or was rejected does not hold it: the plan says why it fails."""
    if run.kind != RunKind.PLAN or run.is_destroy:
        return []
    ids = [
        upstream_id
        for upstream_id, _ in links_of(run.template_version, dict(run.parameters or {})).values()
    ]
    if not ids:
        return []
    return list(
        Resource.objects.filter(pk__in=ids).filter(
            Q(status__in=WRITING) | Q(provisioned_at__isnull=True, status__in=ON_ITS_WAY)
        )
    )
