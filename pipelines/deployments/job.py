"""The deployment job (idp/jobs): a worker claims the queued row, assumes the environment's
deploy role through STS, runs the runtime's target and ends the row succeeded or failed.
Connection errors to AWS are retried by the one retry policy; a lost worker is taken back
by the reaper (queued again while attempts remain)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from idp import audit
from idp.jobs import dispatch as jobs
from idp.jobs.registry import JobKind, register
from idp.jobs.retry import RetryPolicy
from provisioning.engine.backend import credentials_env
from provisioning.engine.dbretry import retry_locked

from ..choices import AuditAction, DeploymentStatus
from ..models import Deployment, RuntimeBinding
from .logs import DeploymentLog
from .targets import TARGETS, DeployError

log = logging.getLogger(__name__)

DEPLOY_RETRY = RetryPolicy(
    transient=(EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, BotoConnectionError),
    max_attempts=4,
    backoff=5,
    backoff_max=120,
)


def _deploy(deployment: Deployment, workdir: Path) -> jobs.Done:
    """The work of one attempt: credentials, target, outcome recorded."""
    deployment = Deployment.objects.select_related("service__team", "environment").get(
        pk=deployment.pk
    )
    out = DeploymentLog(deployment.pk)
    env = deployment.environment
    out.write(
        f"Deploying {deployment.service.slug} {deployment.version} "
        f"(commit {deployment.commit or '-'}) to {env.slug}: {deployment.kind} {deployment.target}"
    )
    try:
        role = env.aws_role_arn
        out.write(
            f"Assuming the deploy role {role}" if role else "No deploy role: default credentials"
        )
        creds = credentials_env(env, f"idp-deploy-{deployment.pk}")
        deployed = TARGETS[deployment.kind](deployment, creds, out)
    except DeployError as exc:
        out.write(f"Failed: {exc}")
        _ended(deployment, AuditAction.DEPLOYMENT_FAILED, {"error": str(exc)})
        return jobs.Done(DeploymentStatus.FAILED, str(exc))
    except DEPLOY_RETRY.transient as exc:
        out.write(f"AWS did not answer: {exc}")
        raise
    except Exception as exc:
        out.write(f"Failed unexpectedly: {type(exc).__name__}: {exc}")
        _ended(deployment, AuditAction.DEPLOYMENT_FAILED, {"error": type(exc).__name__})
        raise
    Deployment.objects.filter(pk=deployment.pk).update(
        artifact_digest=deployed.digest, outcome=deployed.outcome
    )
    out.write(f"Deployed {deployment.version} to {env.slug}")
    _ended(deployment, AuditAction.DEPLOYMENT_SUCCEEDED, {"outcome": deployed.outcome})
    return jobs.Done(DeploymentStatus.SUCCEEDED)


def _ended(deployment: Deployment, action: str, details: dict[str, Any]) -> None:
    audit.record(
        action,
        target=deployment,
        team=deployment.service.team,
        details={"version": deployment.version, "environment": deployment.environment.slug}
        | details,
    )


def run_queued(deployment_id: int, *, task: Any = None) -> jobs.Done | None:
    """The worker's entry: claim the queued deployment and carry it out (None: not queued)."""
    return jobs.execute(DEPLOYMENT, deployment_id, _deploy, task=task)


def _lost(deployment_id: int, requeued: bool, reason: str) -> None:
    """Its worker died: the log says so (the reaper has set the status)."""
    DeploymentLog(deployment_id).write(reason)
    if not requeued:
        Deployment.objects.filter(pk=deployment_id, finished_at__isnull=True).update(
            finished_at=timezone.now()
        )


HELD_BACK_DELAY = 5  # seconds before a deployment held back behind another is sent again


@retry_locked
def _claim(pk: int, worker: str) -> Deployment | None:
    """Take a queued deployment, one at a time per service and environment, in the order
    they were requested: while an earlier one of the same runtime is queued or running it
    is held back and sent again shortly (the alias or pointer never moves out of order)."""
    with transaction.atomic():
        row = Deployment.objects.filter(pk=pk, status=DeploymentStatus.QUEUED).first()
        if row is None:
            return None
        # Claims of the same service and environment queue up on their runtime's row.
        if row.runtime_id is not None:
            RuntimeBinding.objects.select_for_update().filter(pk=row.runtime_id).first()
        ahead = Deployment.objects.filter(
            service_id=row.service_id, environment_id=row.environment_id
        ).filter(Q(status=DeploymentStatus.RUNNING) | Q(status=DeploymentStatus.QUEUED, pk__lt=pk))
        if ahead.exists():
            transaction.on_commit(lambda: jobs.send(DEPLOYMENT, pk, countdown=HELD_BACK_DELAY))
            return None
        now = timezone.now()
        claimed = Deployment.objects.filter(pk=pk, status=DeploymentStatus.QUEUED).update(
            status=DeploymentStatus.RUNNING,
            started_at=now,
            heartbeat_at=now,
            finished_at=None,
            worker=worker,
            attempts=F("attempts") + 1,
            workdir="",
        )
    return Deployment.objects.get(pk=pk) if claimed else None


DEPLOYMENT = register(
    JobKind(
        name="pipelines.deployment",
        label="deployment",
        task="pipelines.tasks.run_deployment",
        model=Deployment,
        retry=DEPLOY_RETRY,
        on_lost=_lost,
        claim=_claim,
    )
)
