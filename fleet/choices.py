"""States of fleet upgrades and their items, the groups of a plan summary, audit actions."""

from django.db import models


class FleetStatus(models.TextChoices):
    PLANNING = "planning", "Planning"
    PLANNED = "planned", "Planned (waiting to start the waves)"
    APPLYING = "applying", "Applying in waves"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class ItemStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be planned"
    PLANNING = "planning", "Planning"
    PLANNED = "planned", "Planned, held for its wave"
    APPLYING = "applying", "Applying"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    APPLIED = "applied", "Applied"
    UNCHANGED = "unchanged", "Already on the target version"
    PLAN_FAILED = "plan_failed", "Plan failed"
    POLICY_FAILED = "policy_failed", "Failed a policy"
    FAILED = "failed", "Apply failed"
    REJECTED = "rejected", "Rejected"
    SKIPPED = "skipped", "Skipped (withdrawn, expired or changed meanwhile)"
    CANCELLED = "cancelled", "Cancelled"


class PlanGroup(models.TextChoices):
    """What a resource's plan against the target version would do."""

    NO_OP = "no_op", "No changes"
    UPDATE = "update", "In-place changes"
    REPLACE = "replace", "Replacements"
    DESTROY = "destroy", "Destroys"
    POLICY_FAILED = "policy_failed", "Policy failures"
    PLAN_ERROR = "plan_error", "Plan errors"


class AuditAction(models.TextChoices):
    STARTED = "fleet.started", "Fleet upgrade started"
    PLANNED = "fleet.planned", "Every plan finished"
    WAVE_STARTED = "fleet.wave_started", "Wave started"
    WAVE_COMPLETED = "fleet.wave_completed", "Wave completed"
    PAUSED = "fleet.paused", "Paused"
    AUTO_PAUSED = "fleet.auto_paused", "Paused: a wave's failure rate passed the threshold"
    RESUMED = "fleet.resumed", "Resumed"
    CANCELLED = "fleet.cancelled", "Cancelled"
    COMPLETED = "fleet.completed", "Completed"


FLEET_ACTIVE = {FleetStatus.PLANNING, FleetStatus.PLANNED, FleetStatus.APPLYING, FleetStatus.PAUSED}
FLEET_FINAL = {FleetStatus.COMPLETED, FleetStatus.CANCELLED}
# Items whose plan or apply a worker is still busy with (or a person must decide on).
ITEM_IN_FLIGHT = {ItemStatus.PLANNING, ItemStatus.APPLYING, ItemStatus.AWAITING_APPROVAL}
ITEM_FINAL = {
    ItemStatus.APPLIED,
    ItemStatus.UNCHANGED,
    ItemStatus.PLAN_FAILED,
    ItemStatus.POLICY_FAILED,
    ItemStatus.FAILED,
    ItemStatus.REJECTED,
    ItemStatus.SKIPPED,
    ItemStatus.CANCELLED,
}
# Items left out of the waves by their plan.
ITEM_NOT_APPLIED = {ItemStatus.PLAN_FAILED, ItemStatus.POLICY_FAILED, ItemStatus.UNCHANGED}
