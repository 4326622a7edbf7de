"""States of resources and runs, with the named groups the engine and the UI rely on."""

from django.db import models


class ResourceStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PLANNING = "planning", "Planning"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    APPLYING = "applying", "Applying"
    PROVISIONED = "provisioned", "Provisioned"
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


class ApprovalDecision(models.TextChoices):
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


RUN_ACTIVE = {RunStatus.QUEUED, RunStatus.RUNNING}
RUN_TERMINAL = {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED}
RUN_CAN_CANCEL = RUN_ACTIVE
RESOURCE_BUSY = {
    ResourceStatus.PENDING,
    ResourceStatus.PLANNING,
    ResourceStatus.APPLYING,
    ResourceStatus.DESTROYING,
}
RESOURCE_GONE = {ResourceStatus.DESTROYED, ResourceStatus.REJECTED}
