"""Named states of pipelines and their runs, with the groups views and tasks rely on."""

from django.db import models


class PipelineTemplate(models.TextChoices):
    """The pipeline templates the platform generates workflows from."""

    PYTHON = "python", "Python (pytest)"
    NODE = "node", "Node.js"
    GO = "go", "Go"
    CONTAINER = "container", "Container image (ECR)"
    TERRAFORM = "terraform", "Terraform"
    STATIC_SITE = "static-site", "Static site (S3)"


class DeliveryState(models.TextChoices):
    """Where the generated workflow is on its way into the repository."""

    DRAFT = "draft", "Draft"
    QUEUED = "queued", "Queued"
    DELIVERING = "delivering", "Delivering"
    DELIVERED = "delivered", "Pull request open"
    MERGED = "merged", "Merged"
    CLOSED = "closed", "Pull request closed"
    FAILED = "failed", "Failed"


# States in which a delivery request is already on its way.
DELIVERY_ACTIVE = {DeliveryState.QUEUED, DeliveryState.DELIVERING}


class RunStatus(models.TextChoices):
    """GitHub's workflow run / job status values."""

    REQUESTED = "requested", "Requested"
    QUEUED = "queued", "Queued"
    WAITING = "waiting", "Waiting"
    PENDING = "pending", "Pending"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"


# Statuses that mean GitHub is still working on the run: the portal keeps polling.
RUN_ACTIVE = {
    RunStatus.REQUESTED,
    RunStatus.QUEUED,
    RunStatus.WAITING,
    RunStatus.PENDING,
    RunStatus.IN_PROGRESS,
}


class RunSource(models.TextChoices):
    """Whether a run's state came from the whole workflow run or from its environment's job."""

    WORKFLOW = "workflow", "Workflow run"
    JOB = "job", "Job"


class AuditAction(models.TextChoices):
    """What this app records in the audit log (values are the stored action names)."""

    PIPELINE_CREATED = "pipeline.created", "Pipeline created"
    PIPELINE_DELIVERED = "pipeline.delivered", "Pipeline delivered"
    PIPELINE_DELIVERY_FAILED = "pipeline.delivery_failed", "Pipeline delivery failed"
    PIPELINE_DELIVERY_REQUESTED = "pipeline.delivery_requested", "Pipeline delivery requested"
    PIPELINE_REGENERATED = "pipeline.regenerated", "Pipeline regenerated"
    DEPLOYMENT_REQUESTED = "deployment.requested", "Deployment requested"
    DEPLOYMENT_SUCCEEDED = "deployment.succeeded", "Deployment succeeded"
    DEPLOYMENT_FAILED = "deployment.failed", "Deployment failed"
    DEPLOYMENT_APPROVED = "deployment.approved", "Deployment approved"
    DEPLOYMENT_REJECTED = "deployment.rejected", "Deployment rejected"
    RUNTIME_BOUND = "deployment.runtime_bound", "Runtime bound"


class RuntimeKind(models.TextChoices):
    """The runtimes a deployment can target, each one a kind of provisioned resource."""

    LAMBDA = "lambda", "Lambda function (alias live)"
    S3_SITE = "s3-site", "S3 static site"


# Which template's resources each runtime kind binds to, and the output naming the target.
RUNTIME_TEMPLATES = {
    RuntimeKind.LAMBDA: ("lambda-function", "function_name"),
    RuntimeKind.S3_SITE: ("s3-bucket", "bucket_name"),
}


class DeploymentStatus(models.TextChoices):
    """A deployment's job statuses (idp/jobs) and the two before its job: awaiting the
    environment's approval, or rejected there."""

    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    REJECTED = "rejected", "Rejected"
    IDLE = "idle", "Idle"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


# Not over yet: the portal keeps polling.
DEPLOYMENT_ACTIVE = {
    DeploymentStatus.AWAITING_APPROVAL,
    DeploymentStatus.QUEUED,
    DeploymentStatus.RUNNING,
}
