"""States of resources and runs, with the named groups the engine and the UI rely on."""

from django.db import models


class ResourceStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PLANNING = "planning", "Planning"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    POLICY_FAILED = "policy_failed", "Failed a policy"
    APPLYING = "applying", "Applying"
    PROVISIONED = "provisioned", "Provisioned"
    STATE_PENDING = "state_pending", "Applied, state not yet stored"
    FAILED = "failed", "Failed"
    REJECTED = "rejected", "Rejected"
    DESTROYING = "destroying", "Destroying"
    DESTROYED = "destroyed", "Destroyed"


class RunKind(models.TextChoices):
    PLAN = "plan", "Plan"
    APPLY = "apply", "Apply"
    DESTROY = "destroy", "Destroy"
    DRIFT = "drift", "Drift check"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class PlanHold(models.TextChoices):
    """A plan held after it succeeds (a fleet plans first, applies in waves)."""

    NONE = "", "Not held"
    HELD = "held", "Held until released"
    RELEASED = "released", "Released"


class ApprovalDecision(models.TextChoices):
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class ResourceEvent(models.TextChoices):
    """Lifecycle events of a resource; each value is the audit action it is recorded as."""

    PLAN_STARTED = "resource.plan_started", "Plan started"
    CHANGE_PLANNED = "resource.change_planned", "Planned again"
    DESTROY_REQUESTED = "resource.destroy_requested", "Destroy requested"
    EXPIRED = "resource.expired", "Expired"
    PLAN_AWAITS_APPROVAL = "resource.awaiting_approval", "Awaiting approval"
    PLAN_NO_CHANGES = "resource.no_changes", "Planned with no changes"
    APPLY_QUEUED = "resource.apply_queued", "Apply queued (no approval needed)"
    APPROVED = "resource.approved", "Approved"
    BREAK_GLASS = "resource.break_glass", "Approved by break-glass"
    REJECTED = "resource.rejected", "Rejected"
    APPROVAL_EXPIRED = "resource.approval_expired", "Expired unapproved"
    CANCELLED = "resource.change_cancelled", "Withdrawn"
    APPLIED = "resource.provisioned", "Provisioned"
    DESTROYED = "resource.destroyed", "Destroyed"
    RUN_STOPPED = "resource.run_stopped", "Stopped"
    PLAN_REFUSED = "resource.plan_refused", "Planned again after a refused apply"
    STATE_WRITE_FAILED = "resource.state_write_failed", "Applied; state kept to push later"
    STATE_PUSHED = "resource.state_pushed", "State pushed to the backend"
    PLAN_POLICY_FAILED = "resource.policy_failed", "Plan failed a mandatory policy"
    POLICY_OVERRIDDEN = "resource.policy_overridden", "Policy failure overridden"
    POLICY_PASSED = "resource.policy_passed", "Plan passes its policies again"
    OUTCOME_UNKNOWN = (
        "resource.outcome_unknown",
        "Run lost after it changed the state; planned again to see what is there",
    )


class AuditAction(models.TextChoices):
    """Audit actions of provisioning besides the lifecycle events above."""

    REQUESTED = "resource.requested", "Requested"
    PARAMETERS_CHANGED = "resource.parameters_changed", "Parameters changed"
    REPLANNED = "resource.replanned", "Planned again"
    UPGRADE_PLANNED = "resource.upgrade_planned", "Upgrade planned"
    PLAN_HELD = "resource.plan_held", "Plan held (waits to be released)"
    PLAN_RELEASED = "resource.plan_released", "Held plan released"
    HELD_PLAN_DISCARDED = "resource.held_plan_discarded", "Held plan discarded"
    RETRIED = "resource.retried", "Retried"
    ARCHIVED = "resource.archived", "Archived"
    UNARCHIVED = "resource.unarchived", "Unarchived"
    ACCESS_CHANGED = "resource.access_changed", "Access changed (restriction or sharing)"
    APPROVAL_RECORDED = "resource.approval_recorded", "Approval recorded"
    AUTO_APPROVED = "resource.auto_approved", "Auto-approved by an approval rule"
    PROPOSAL_DISCARDED = "resource.proposal_discarded", "Proposed change discarded"
    UNLOCKED = "resource.unlocked", "Unlocked"
    DRIFT_CHECK_QUEUED = "resource.drift_check_queued", "Drift check queued"
    DRIFT_DETECTED = "resource.drift_detected", "Drift detected"
    DRIFT_RECONCILE_REQUESTED = "resource.drift_reconcile_requested", "Drift reconcile planned"
    DRIFT_ACCEPT_REQUESTED = "resource.drift_accept_requested", "Drift acceptance planned"
    DRIFT_ACCEPTED = "resource.drift_accepted", "Drift accepted as intended"
    DRIFT_AUTO_RECONCILE_SKIPPED = (
        "resource.drift_auto_reconcile_skipped",
        "Drift not reconciled automatically",
    )
    POLICY_REEVALUATED = "resource.policy_reevaluated", "Plan's policy results changed"
    RUN_SUCCEEDED = "run.succeeded", "Run succeeded"
    RUN_FAILED = "run.failed", "Run failed"
    RUN_CANCELLED = "run.cancelled", "Run cancelled"
    RUN_CANCEL_REQUESTED = "run.cancel_requested", "Run cancel requested"
    RUN_WORKER_LOST = "run.worker_lost", "Run lost its worker"
    RUN_OUTCOME_UNKNOWN = "run.outcome_unknown", "Run lost its worker after changing the state"


RUN_ACTIVE = {RunStatus.QUEUED, RunStatus.RUNNING}
RUN_TERMINAL = {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED}
RESOURCE_BUSY = {
    ResourceStatus.STATE_PENDING,
    ResourceStatus.PENDING,
    ResourceStatus.PLANNING,
    ResourceStatus.APPLYING,
    ResourceStatus.DESTROYING,
}
RESOURCE_GONE = {ResourceStatus.DESTROYED, ResourceStatus.REJECTED}
