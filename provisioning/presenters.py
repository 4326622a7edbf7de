"""What the portal and the API show of a resource: sensitive values masked, current run, plan."""

from __future__ import annotations

from typing import Any

from catalog import sensitivity
from catalog.models import TemplateVersion

from .access import RUN_HEAVY_FIELDS
from .actions import proposals
from .approval_policy import ApprovalPolicy
from .choices import RUN_ACTIVE, RunKind, RunStatus
from .models import Resource, Run
from .plan_diff import api_changes

MASK = sensitivity.MASK


def activity(resource: Resource) -> str | None:
    """The resource's activity (see `access.with_activity`), from the annotation when present."""
    if hasattr(resource, "activity"):
        return resource.activity
    return (
        Run.objects.filter(resource=resource, status__in=RUN_ACTIVE)
        .exclude(kind=RunKind.DRIFT)
        .order_by("-status")
        .values_list("status", flat=True)
        .first()
    )


def _masked(
    version: TemplateVersion | None, plain: dict[str, Any], has_secrets: bool
) -> dict[str, Any]:
    """Non-sensitive values as stored, every sensitive one as the mask (never decrypted)."""
    sensitive = sensitivity.sensitive_names(version)
    shown = {k: v for k, v in (plain or {}).items() if k not in sensitive}
    if has_secrets:
        shown.update({name: MASK for name in sensitive})
    return shown


def masked_parameters(resource: Resource) -> dict[str, Any]:
    """The resource's current (applied) parameters, sensitive ones masked."""
    return _masked(
        resource.template_version, resource.parameters, bool(resource.sensitive_parameters)
    )


def masked_outputs(resource: Resource) -> dict[str, Any]:
    """Non-sensitive outputs as stored; sensitive ones masked, never decrypted."""
    names = set(resource.sensitive_output_names or [])
    shown = {k: v for k, v in (resource.outputs or {}).items() if k not in names}
    shown.update({name: MASK for name in sorted(names)})
    return shown


def runs_of(resource: Resource) -> Any:
    return Run.objects.filter(resource=resource).defer(*RUN_HEAVY_FIELDS)


def current_run(resource: Resource) -> Run | None:
    """The queued or running run of the resource, if any (a running one first)."""
    return (
        runs_of(resource)
        .filter(status__in=RUN_ACTIVE)
        .order_by("-status", "-created_at", "-id")
        .first()
    )


def latest_plan(resource: Resource) -> Run | None:
    """The plan to show: the pending proposal's plan, else the newest plan of the resource."""
    return proposals.pending_plan(resource) or proposals.latest_plan(resource)


def proposed_change(resource: Resource) -> dict[str, Any] | None:
    """The pending proposed change beside what is current: version, parameters (sensitive
    masked), which ones change, and what its plan needs and has (None: nothing proposed)."""
    plan = proposals.pending_plan(resource)
    if plan is None:
        return None
    before = proposals.current(resource)
    after = proposals.proposed(plan)
    return {
        "plan_run": plan.pk,
        "plan_status": plan.status,
        "destroy": plan.is_destroy,
        "version": plan.template_version.number,
        "parameters": _masked(plan.template_version, plan.parameters, bool(after.secret)),
        "changed": proposals.changed_names(before, after),
        "proposed_by": sorted({u.get_username() for u in _authors(resource)}),
        "approval": ApprovalPolicy.of(resource).progress(plan)
        if plan.status == RunStatus.SUCCEEDED
        else {},
    }


def _authors(resource: Resource) -> list[Any]:
    from django.contrib.auth import get_user_model

    ids = ApprovalPolicy.of(resource).touchers(resource)
    return list(get_user_model().objects.filter(pk__in=ids))


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


def plan_changes(run: Run) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(resource changes, output changes) of a plan run as the API shows them (for an
    apply: of the plan it applies); empty for plans made before changes were recorded."""
    source = run.plan_run if run.kind != RunKind.PLAN and run.plan_run_id else run
    return api_changes(source.plan_changes if source is not None else {})


POLICY_KEYS = ("passed", "warnings", "failures", "blocking", "overridable", "override", "results")


def policy_summary(run: Run) -> dict[str, Any] | None:
    """The policies' results on a plan (counts, each result, an override), or None."""
    summary = run.policy_summary or {}
    if run.kind != RunKind.PLAN or not summary:
        return None
    return {key: summary.get(key) for key in POLICY_KEYS} | {
        "override": (
            {k: summary["override"].get(k) for k in ("by", "reason", "at")}
            if summary.get("override")
            else None
        ),
        "results": [r for r in summary.get("results", []) if r.get("level") != "passed"]
        + [r for r in summary.get("results", []) if r.get("level") == "passed"],
    }
