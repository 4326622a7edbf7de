"""What the portal and the API show of a resource: sensitive values masked, current run, plan."""

from __future__ import annotations

from typing import Any

from catalog.models import TemplateVersion

from ..choices import RUN_ACTIVE, RunKind, RunStatus
from ..models import Resource, Run

MASK = "********"

# Run fields never worth loading for pages and API answers: the plan file is bytes.
RUN_HEAVY_FIELDS = ("plan_file",)


def _is_sensitive(prop: Any) -> bool:
    if not isinstance(prop, dict):
        return False
    return bool(prop.get("sensitive") or prop.get("x-sensitive") or prop.get("writeOnly"))


def sensitive_parameter_names(version: TemplateVersion | None) -> list[str]:
    """Parameters the template marks sensitive (Terraform `sensitive = true`)."""
    if version is None:
        return []
    props = (version.parameters_schema or {}).get("properties") or {}
    return sorted(name for name, prop in props.items() if _is_sensitive(prop))


def masked_parameters(resource: Resource) -> dict[str, Any]:
    """Non-sensitive parameters as stored, every sensitive one as the mask."""
    sensitive = sensitive_parameter_names(resource.template_version)
    shown = {k: v for k, v in (resource.parameters or {}).items() if k not in sensitive}
    if resource.sensitive_parameters:
        shown.update({name: MASK for name in sensitive})
    return shown


def masked_outputs(resource: Resource) -> dict[str, Any]:
    """Non-sensitive outputs as stored; sensitive ones masked, never decrypted."""
    names = set(resource.sensitive_output_names or [])
    shown = {k: v for k, v in (resource.outputs or {}).items() if k not in names}
    shown.update({name: MASK for name in sorted(names)})
    return shown


def runs_of(resource: Resource) -> Any:
    return Run.objects.filter(resource=resource).defer(*RUN_HEAVY_FIELDS)


def current_run(resource: Resource) -> Run | None:
    """The queued or running run of the resource, if any."""
    return runs_of(resource).filter(status__in=RUN_ACTIVE).order_by("-created_at", "-id").first()


def latest_plan(resource: Resource) -> Run | None:
    """The newest plan with a summary (a succeeded one first: that is what approval applies)."""
    plans = runs_of(resource).filter(kind=RunKind.PLAN).exclude(plan_summary={})
    return (
        plans.filter(status=RunStatus.SUCCEEDED).order_by("-created_at", "-id").first()
        or plans.order_by("-created_at", "-id").first()
    )


def plan_counts(summary: dict[str, Any] | None) -> dict[str, int]:
    """add/change/destroy counts of a plan summary."""
    summary = summary or {}
    counts = {}
    for key in ("add", "change", "destroy"):
        value = summary.get(key, 0)
        counts[key] = len(value) if isinstance(value, list | tuple) else int(value or 0)
    return counts


PLAN_MARKS = {"create": "+", "delete": "-", "update": "~", "replace": "-/+"}


def plan_addresses(summary: dict[str, Any] | None) -> list[dict[str, str]]:
    """The plan's resources: address, action and its mark (+, ~, -, -/+), no values."""
    rows = []
    for item in (summary or {}).get("resources") or []:
        if isinstance(item, dict):
            action = str(item.get("action", ""))
            rows.append(
                {
                    "address": str(item.get("address", "")),
                    "action": action,
                    "mark": PLAN_MARKS.get(action, "?"),
                }
            )
    return rows
