"""What a fleet upgrade shows: its progress, the plan results grouped with their attribute
diffs, and its waves. One reader for the portal, the API, the CLI and Django admin."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.db.models import Count

from provisioning.models import Run
from provisioning.plan_diff import UNKNOWN, group_by_change, leaf_sides, stored_leaves, value_text

from ..choices import ITEM_FINAL, FleetStatus, ItemStatus, PlanGroup
from ..models import FleetItem, FleetUpgrade
from .drive import failure_rate, wave_counts

DIFF_LIMIT = 20
ERROR_LIMIT = 10
# Items whose plan has finished (whatever it said).
PLAN_DONE = set(ITEM_FINAL) | {
    ItemStatus.PLANNED,
    ItemStatus.APPLYING,
    ItemStatus.AWAITING_APPROVAL,
}


def status_counts(fleets: Iterable[FleetUpgrade]) -> dict[int, dict[str, int]]:
    """{fleet id: {item status: count}} of many fleet upgrades in one query (a list page)."""
    ids = [f.pk for f in fleets]
    counts: dict[int, dict[str, int]] = {pk: {} for pk in ids}
    rows = (
        FleetItem.objects.filter(fleet_id__in=ids)
        .values("fleet_id", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        counts[row["fleet_id"]][row["status"]] = row["n"]
    return counts


def progress(fleet: FleetUpgrade, counts: dict[str, int] | None = None) -> dict[str, Any]:
    """Counts by item status, and how far planning and the whole upgrade are (`counts`:
    already read by `status_counts`)."""
    if counts is None:
        counts = status_counts([fleet])[fleet.pk]
    total = sum(counts.values())
    planned = sum(n for s, n in counts.items() if s in PLAN_DONE)
    done = sum(n for s, n in counts.items() if s in ITEM_FINAL)
    return {
        "total": total,
        "counts": counts,
        "planned": planned,
        "done": done,
        "plan_percent": round(planned * 100 / total) if total else 100,
        "done_percent": round(done * 100 / total) if total else 100,
        "plan_complete": fleet.planned_at is not None,
    }


def _diffs(changes: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(address, action, leaf path, before, after) of each changed leaf of a plan (the
    nested diff: `input.color`, `null`, `"yellow"`), outputs as `output`."""
    found = []
    for res in changes.get("resources", []) or []:
        for leaf in stored_leaves(res):
            before, after = leaf_sides(leaf)
            address, action = res.get("address", ""), res.get("action", "")
            found.append((address, action, leaf["path"], before, after))
    for out in changes.get("outputs", []) or []:
        sensitive = bool(out.get("sensitive"))
        after = UNKNOWN if out.get("after_unknown") else value_text(out.get("after"), sensitive)
        before = value_text(out.get("before"), sensitive)
        found.append(("output", out.get("action", ""), out.get("name", ""), before, after))
    return found


# The plan results a reviewer compares by change (the others are errors, listed apart).
CHANGE_GROUPS = (PlanGroup.NO_OP, PlanGroup.UPDATE, PlanGroup.REPLACE, PlanGroup.DESTROY)


def change_groups(fleet: FleetUpgrade) -> list[dict[str, Any]]:
    """The succeeded plans grouped by identical leaf changes ("3 resources:
    `input.color: null → "yellow"`"), replacements and destroys first; each group with
    its resources and their environments (see `plan_diff.group_by_change`)."""
    items = list(
        fleet.items.filter(group__in=CHANGE_GROUPS)
        .order_by("resource__name", "pk")
        .values("resource_id", "resource__name", "resource__environment__slug", "plan_run_id")
    )
    plan_ids = [i["plan_run_id"] for i in items if i["plan_run_id"]]
    changes = dict(Run.objects.filter(pk__in=plan_ids).values_list("pk", "plan_changes"))
    return group_by_change(
        {
            "resource": {"id": i["resource_id"], "name": i["resource__name"]},
            "environment": i["resource__environment__slug"],
            "changes": changes.get(i["plan_run_id"]) or {},
        }
        for i in items
    )


def groups(fleet: FleetUpgrade) -> list[dict[str, Any]]:
    """The plan results in groups (no-op, in-place, replace, destroy, policy failures, plan
    errors), each with its resources and the distinct attribute diffs (or errors) and how
    many resources share each."""
    items = list(
        fleet.items.exclude(group="").values(
            "group", "resource_id", "resource__name", "plan_run_id", "error"
        )
    )
    plan_ids = [i["plan_run_id"] for i in items if i["plan_run_id"]]
    changes = dict(Run.objects.filter(pk__in=plan_ids).values_list("pk", "plan_changes"))
    result = []
    for group in PlanGroup:
        members = [i for i in items if i["group"] == group]
        if not members:
            continue
        diffs: Counter[tuple[str, str, str, str, str]] = Counter()
        errors: Counter[str] = Counter()
        for member in members:
            if group in (PlanGroup.PLAN_ERROR, PlanGroup.POLICY_FAILED):
                errors[(member["error"] or "")[:300]] += 1
            for diff in set(_diffs(changes.get(member["plan_run_id"]) or {})):
                diffs[diff] += 1
        result.append(
            {
                "group": group.value,
                "title": group.label,
                "count": len(members),
                "resources": [
                    {"id": m["resource_id"], "name": m["resource__name"]} for m in members
                ],
                "diffs": [
                    {
                        "address": address,
                        "action": action,
                        "attribute": name,
                        "before": before,
                        "after": after,
                        "resources": n,
                    }
                    for (address, action, name, before, after), n in diffs.most_common(DIFF_LIMIT)
                ],
                "plan_errors": [
                    {"error": text, "resources": n} for text, n in errors.most_common(ERROR_LIMIT)
                ],
            }
        )
    return result


def waves(fleet: FleetUpgrade) -> list[dict[str, Any]]:
    """Each wave with its counts, failure rate and state (done, current, waiting)."""
    result = []
    for index, spec in enumerate(fleet.waves or []):
        counts = {k: v for k, v in wave_counts(fleet, index).items() if v}
        failed, total = failure_rate({s.value: counts.get(s.value, 0) for s in ItemStatus})
        if index < fleet.current_wave or fleet.status == FleetStatus.COMPLETED:
            state = "done"
        elif index == fleet.current_wave and fleet.planned_at is not None:
            state = "current"
        else:
            state = "waiting"
        result.append(
            {
                "index": index + 1,
                "name": spec.get("name", str(index + 1)),
                "environments": spec.get("environments"),
                "percent": spec.get("percent"),
                "state": state,
                "counts": counts,
                "failed": failed,
                "applies": total,
            }
        )
    return result
