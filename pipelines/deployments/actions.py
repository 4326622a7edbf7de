"""Domain operations on deployments: bind a runtime, request a deployment (new, promoted or
a rollback), decide on one awaiting approval, and the matrix of what runs where.

Every surface (portal, API, CLI through the API) calls these. Each write is atomic, records
its audit event and nudges the worker on commit (idp/jobs); refusals are ServiceErrors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from catalog.models import Service
from idp import audit
from idp.actors import Person, signed_in
from idp.conf import setting
from idp.jobs import dispatch as jobs
from idp.models import Environment
from idp.rbac import has_team_perm
from idp.services import Conflict, Forbidden, ServiceError
from provisioning.approval_policy import ApprovalPolicy, environment_floor
from provisioning.choices import ApprovalDecision, ResourceStatus
from provisioning.models import Resource

from ..choices import (
    DEPLOYMENT_ACTIVE,
    RUNTIME_TEMPLATES,
    AuditAction,
    DeploymentStatus,
    RuntimeKind,
)
from ..models import Deployment, DeploymentApproval, PipelineRun, RuntimeBinding
from .job import DEPLOYMENT

VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
COMMIT_RE = re.compile(r"^[0-9a-f]{7,64}$")


def _require(user: Person | None, service: Service, perm: str, what: str) -> None:
    if not has_team_perm(user, service.team, perm):
        raise Forbidden(f"Your role in team {service.team.slug} does not allow {what}.")


def visible(user: Person | None) -> QuerySet[Deployment]:
    """The deployments `user` may see (their teams' services): the one access function."""
    return Deployment.objects.for_user(user).select_related(
        "service__team", "environment", "triggered_by", "promoted_from", "rollback_of"
    )


# --- Runtimes ---------------------------------------------------------------------------------


def runtime_target(resource: Resource, kind: str) -> str:
    """The function or bucket a resource's outputs name for a runtime kind."""
    template, output = RUNTIME_TEMPLATES[RuntimeKind(kind)]
    if resource.template.slug != template:
        raise ServiceError(
            f"A {RuntimeKind(kind).label} runtime binds to a {template} resource, not "
            f"{resource.template.slug}.",
            field="resource",
        )
    value = (resource.outputs or {}).get(output)
    if isinstance(value, dict):  # Terraform output JSON keeps {"value": ...}
        value = value.get("value")
    if not value:
        raise ServiceError(
            f"Resource {resource.name} has no output {output!r} yet.", field="resource"
        )
    return str(value)


@transaction.atomic
def bind_runtime(
    service: Service, environment: Environment, resource: Resource, kind: str, *, actor: Person
) -> RuntimeBinding:
    """Make a live resource of the service the runtime its deployments to `environment` go
    to (maintainers); a binding already there is replaced."""
    _require(actor, service, "maintain_team", "binding runtimes")
    if kind not in RuntimeKind.values:
        raise ServiceError(
            f"Unknown runtime {kind!r}; choose one of {', '.join(RuntimeKind.values)}.",
            field="kind",
        )
    if resource.service_id != service.pk or resource.environment_id != environment.pk:
        raise ServiceError(
            f"Resource {resource.name} is not {service.slug}'s in {environment.slug}.",
            field="resource",
        )
    if resource.status != ResourceStatus.PROVISIONED:
        raise ServiceError(f"Resource {resource.name} is not provisioned.", field="resource")
    runtime_target(resource, kind)
    binding, _ = RuntimeBinding.objects.update_or_create(
        service=service,
        environment=environment,
        defaults={"resource": resource, "kind": kind, "created_by": signed_in(actor)},
    )
    audit.record(
        AuditAction.RUNTIME_BOUND,
        actor=actor,
        target=binding,
        team=service.team,
        details={"environment": environment.slug, "resource": resource.pk, "kind": kind},
    )
    return binding


# --- Requesting ---------------------------------------------------------------------------


def artifact_ref(service: Service, artifact: str) -> str:
    """`s3://bucket/key` as given; a bare key is in the team's artifact bucket."""
    artifact = (artifact or "").strip()
    if not artifact:
        raise ServiceError("Name the artifact (s3://bucket/key, or a key).", field="artifact")
    if artifact.startswith("s3://"):
        bucket, _, key = artifact[5:].partition("/")
        if not bucket or not key or key.endswith("/"):
            raise ServiceError("Use s3://bucket/key.", field="artifact")
        return artifact
    if "://" in artifact:
        raise ServiceError("Artifacts are S3 objects: s3://bucket/key.", field="artifact")
    bucket = setting("IDP_ARTIFACT_BUCKET").format(team=service.team.slug)
    return f"s3://{bucket}/{artifact.lstrip('/')}"


@dataclass(frozen=True)
class Requested:
    """A deployment recorded: queued for a worker, or awaiting approval."""

    deployment: Deployment

    @property
    def awaiting_approval(self) -> bool:
        return self.deployment.status == DeploymentStatus.AWAITING_APPROVAL


def _create(
    service: Service,
    environment: Environment,
    *,
    actor: Person,
    version: str,
    commit: str,
    artifact: str,
    artifact_digest: str = "",
    authors: list[int] | None = None,
    reason: str = "",
    pipeline_run: PipelineRun | None = None,
    promoted_from: Deployment | None = None,
    rollback_of: Deployment | None = None,
) -> Requested:
    _require(actor, service, "use_team", f"deploying {service.slug}")
    binding = (
        RuntimeBinding.objects.select_related("resource__template")
        .filter(service=service, environment=environment)
        .first()
    )
    if binding is None:
        raise ServiceError(
            f"{service.slug} has no runtime in {environment.slug}: bind one of its resources "
            "first.",
            field="environment",
        )
    if binding.resource.status != ResourceStatus.PROVISIONED:
        raise Conflict(f"The runtime {binding.resource.name} in {environment.slug} is not live.")
    if not VERSION_RE.match(version or ""):
        raise ServiceError(
            "Use letters, digits, dots, dashes, underscores or plus (at most 128).",
            field="version",
        )
    if not COMMIT_RE.match(commit or ""):
        raise ServiceError("Give the commit's SHA (7 to 64 hex digits).", field="commit")
    user = signed_in(actor)
    needs = environment_floor(environment)
    deployment = Deployment.objects.create(
        service=service,
        environment=environment,
        runtime=binding,
        kind=binding.kind,
        target=runtime_target(binding.resource, binding.kind),
        version=version,
        commit=commit,
        artifact=artifact,
        artifact_digest=artifact_digest,
        pipeline_run=pipeline_run,
        triggered_by=user,
        authors=sorted(set(authors or []) - {user.pk if user else 0}),
        reason=reason,
        promoted_from=promoted_from,
        rollback_of=rollback_of,
        status=DeploymentStatus.AWAITING_APPROVAL if needs else DeploymentStatus.QUEUED,
        queued_at=None if needs else timezone.now(),
    )
    if not needs:
        jobs.nudge(DEPLOYMENT, deployment.pk)
    audit.record(
        AuditAction.DEPLOYMENT_REQUESTED,
        actor=actor,
        target=deployment,
        team=service.team,
        details={
            "environment": environment.slug,
            "version": version,
            "commit": commit,
            "artifact": artifact,
            "promoted_from": promoted_from.pk if promoted_from else None,
            "rollback_of": rollback_of.pk if rollback_of else None,
            "approvals_required": needs,
        },
    )
    return Requested(deployment)


@transaction.atomic
def request_deployment(
    service: Service,
    environment: Environment,
    *,
    artifact: str,
    commit: str,
    version: str = "",
    reason: str = "",
    pipeline_run: PipelineRun | None = None,
    actor: Person,
) -> Requested:
    """Deploy an artifact of the service to an environment (members of its team). Where the
    environment requires approval it waits for it; else a worker deploys it."""
    commit = (commit or "").strip().lower()
    return _create(
        service,
        environment,
        actor=actor,
        version=(version or "").strip() or commit[:12],
        commit=commit,
        artifact=artifact_ref(service, artifact),
        reason=reason,
        pipeline_run=pipeline_run,
    )


def _chain(source: Deployment) -> list[int]:
    """Who touched the deployment a promotion or rollback repeats (its author chain)."""
    return [*source.authors, *([source.triggered_by_id] if source.triggered_by_id else [])]


@transaction.atomic
def promote(
    source: Deployment, environment: Environment, *, reason: str = "", actor: Person
) -> Requested:
    """Deploy the same artifact (checked by digest) to another environment."""
    if source.status != DeploymentStatus.SUCCEEDED or not source.artifact_digest:
        raise Conflict(f"Deployment {source.pk} did not succeed: only a deployed version moves.")
    if environment.pk == source.environment_id:
        raise ServiceError(
            f"Deployment {source.pk} is already in {environment.slug}.", field="environment"
        )
    return _create(
        source.service,
        environment,
        actor=actor,
        version=source.version,
        commit=source.commit,
        artifact=source.artifact,
        artifact_digest=source.artifact_digest,
        authors=_chain(source),
        reason=reason,
        pipeline_run=source.pipeline_run,
        promoted_from=source,
    )


def last_good(service: Service, environment: Environment, before: Deployment) -> Deployment | None:
    """The last succeeded deployment before `before` with another artifact."""
    return (
        Deployment.objects.filter(
            service=service,
            environment=environment,
            status=DeploymentStatus.SUCCEEDED,
            pk__lt=before.pk,
        )
        .exclude(artifact_digest=before.artifact_digest)
        .exclude(artifact_digest="")
        .order_by("-pk")
        .first()
    )


@transaction.atomic
def rollback(current: Deployment, *, reason: str = "", actor: Person) -> Requested:
    """A new deployment of the last good artifact before the one running (same rules)."""
    running = current_deployments(current.service).get(current.environment_id)
    if running is None or running.pk != current.pk:
        raise Conflict(
            f"Deployment {current.pk} is not what runs in {current.environment.slug}; roll back "
            "the running one."
        )
    target = last_good(current.service, current.environment, current)
    if target is None:
        raise Conflict(f"No earlier good version of {current.service.slug} in this environment.")
    return _create(
        current.service,
        current.environment,
        actor=actor,
        version=target.version,
        commit=target.commit,
        artifact=target.artifact,
        artifact_digest=target.artifact_digest,
        authors=_chain(target),
        reason=reason or f"Roll back {current.version} to {target.version}",
        pipeline_run=target.pipeline_run,
        rollback_of=current,
    )


# --- Approvals -----------------------------------------------------------------------------


def touchers(deployment: Deployment) -> set[int]:
    """Who may not decide on it (four eyes): its triggerer and its author chain."""
    ids = {int(a) for a in deployment.authors or []}
    if deployment.triggered_by_id:
        ids.add(deployment.triggered_by_id)
    return ids


def decision_refusal(deployment: Deployment, user: Any) -> str | None:
    """Why `user` may not approve or reject the deployment (None: they may); the rule of
    plans (`ApprovalPolicy.decider_refusal`) with the deployment's facts."""
    refused = ApprovalPolicy(deployment.environment).decider_refusal(
        user, deployment.service.team, "deployments"
    )
    if refused is not None:
        return refused
    if user.pk in touchers(deployment):
        return (
            "You triggered this deployment or the one it repeats, so you cannot decide on it "
            "(four eyes)."
        )
    if deployment.approvals.filter(decided_by=user.pk).exists():
        return "You already decided on this deployment."
    return None


def _decidable(deployment: Deployment, actor: Person) -> Deployment:
    """The deployment locked, awaiting approval, and `actor` eligible to decide on it."""
    deployment = (
        Deployment.objects.select_for_update(of=("self",))
        .select_related("service__team", "environment")
        .get(pk=deployment.pk)
    )
    if deployment.status != DeploymentStatus.AWAITING_APPROVAL:
        raise Conflict(
            f"Deployment {deployment.pk} is not awaiting approval ({deployment.status})."
        )
    refused = decision_refusal(deployment, actor)
    if refused is not None:
        raise Forbidden(refused)
    return deployment


@transaction.atomic
def approve(deployment: Deployment, *, reason: str = "", actor: Person) -> Deployment:
    """Approve a deployment awaiting approval; with enough approvals it is queued."""
    deployment = _decidable(deployment, actor)
    DeploymentApproval.objects.create(
        deployment=deployment,
        decision=ApprovalDecision.APPROVED,
        decided_by=signed_in(actor),
        reason=reason,
    )
    given = (
        deployment.approvals.filter(decision=ApprovalDecision.APPROVED)
        .exclude(decided_by__in=touchers(deployment))
        .values("decided_by")
        .distinct()
        .count()
    )
    needed = environment_floor(deployment.environment)
    audit.record(
        AuditAction.DEPLOYMENT_APPROVED,
        actor=actor,
        target=deployment,
        team=deployment.service.team,
        details={"approvals": given, "needed": needed, "reason": reason},
    )
    if given >= needed:
        Deployment.objects.filter(pk=deployment.pk).update(
            status=DeploymentStatus.QUEUED, queued_at=timezone.now()
        )
        jobs.nudge(DEPLOYMENT, deployment.pk)
    deployment.refresh_from_db()
    return deployment


@transaction.atomic
def reject(deployment: Deployment, *, reason: str = "", actor: Person) -> Deployment:
    """Reject a deployment awaiting approval: it never runs."""
    deployment = _decidable(deployment, actor)
    if not reason.strip():
        raise ServiceError("Say why you reject it.", field="reason")
    DeploymentApproval.objects.create(
        deployment=deployment,
        decision=ApprovalDecision.REJECTED,
        decided_by=signed_in(actor),
        reason=reason,
    )
    Deployment.objects.filter(pk=deployment.pk).update(
        status=DeploymentStatus.REJECTED, finished_at=timezone.now()
    )
    audit.record(
        AuditAction.DEPLOYMENT_REJECTED,
        actor=actor,
        target=deployment,
        team=deployment.service.team,
        details={"reason": reason},
    )
    deployment.refresh_from_db()
    return deployment


# --- What runs where -----------------------------------------------------------------------


def current_deployments(service: Service) -> dict[int, Deployment]:
    """Environment id → the deployment running there (the last that succeeded)."""
    running: dict[int, Deployment] = {}
    for deployment in (
        Deployment.objects.filter(service=service, status=DeploymentStatus.SUCCEEDED)
        .select_related("environment", "triggered_by")
        .order_by("-finished_at", "-pk")
    ):
        running.setdefault(deployment.environment_id, deployment)
    return running


@dataclass
class MatrixRow:
    environment: Environment
    running: Deployment | None
    latest: Deployment | None
    history: list[Deployment]
    runtime: RuntimeBinding | None

    @property
    def active(self) -> bool:
        return bool(self.latest and self.latest.status in DEPLOYMENT_ACTIVE)


def matrix(service: Service, history: int = 5) -> list[MatrixRow]:
    """Per environment with a runtime: what runs, the newest deployment and the last few,
    for the service page. A service without a runtime has no deployment (a deployment
    needs one): one query then; else two, and one more only where the deployment running
    in an environment is older than the recent ones read."""
    bindings = {
        b.environment_id: b
        for b in RuntimeBinding.objects.filter(service=service).select_related(
            "resource", "environment"
        )
    }
    if not bindings:
        return []
    recent: dict[int, list[Deployment]] = {}
    running: dict[int, Deployment] = {}
    for deployment in (
        Deployment.objects.filter(service=service)
        .select_related("environment", "triggered_by")
        .order_by("-pk")[:200]
    ):
        recent.setdefault(deployment.environment_id, []).append(deployment)
        if deployment.status == DeploymentStatus.SUCCEEDED:
            known = running.get(deployment.environment_id)
            if known is None or (deployment.finished_at or deployment.created_at) > (
                known.finished_at or known.created_at
            ):
                running[deployment.environment_id] = deployment
    if any(env_id not in running for env_id in recent):
        running = {**current_deployments(service), **running}
    environments = {b.environment_id: b.environment for b in bindings.values()}
    environments.update(
        {items[0].environment_id: items[0].environment for items in recent.values()}
    )
    rows = []
    for env in sorted(environments.values(), key=lambda e: (e.order, e.slug)):
        items = recent.get(env.pk, [])
        rows.append(
            MatrixRow(
                environment=env,
                running=running.get(env.pk),
                latest=items[0] if items else None,
                history=items[:history],
                runtime=bindings.get(env.pk),
            )
        )
    return rows
