"""Domain operations on pipelines: preview, create, regenerate, deliver.

The portal, the API, admin actions, management commands and Celery tasks all call these.
Each write is atomic, records its audit event and queues GitHub work on commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.template.defaultfilters import pluralize
from django.utils import timezone

from catalog.models import Service
from idp import audit
from idp.actors import Person, signed_in
from idp.conf import setting
from idp.github_client import EnvironmentSpec, GitHubDelivery, GitHubError, parse_repository
from idp.jobs import dispatch as jobs
from idp.jobs.dispatch import Done
from idp.jobs.models import JobStatus
from idp.jobs.registry import JobKind, register
from idp.jobs.retry import RetryPolicy
from idp.models import Environment
from idp.rbac import has_team_perm
from idp.services import Conflict, Forbidden, ServiceError
from provisioning.choices import ResourceStatus

from . import generation
from .checks import Finding, check_workflow
from .choices import DELIVERY_ACTIVE, AuditAction, DeliveryState, PipelineTemplate
from .models import Pipeline

OIDC_ROLE_TEMPLATE = "github-oidc-role"
SLUG_MAX = 50


@dataclass
class Preview:
    """A generated workflow and what the checks say about it."""

    yaml: str
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    role_arns: dict[str, str] = field(default_factory=dict)

    @property
    def passes(self) -> bool:
        return not self.findings


def role_arns(service: Service, environments: list[str]) -> dict[str, str]:
    """Environment slug -> role ARN from the service's provisioned github-oidc-role resources."""
    from provisioning.models import Resource

    found: dict[str, str] = {}
    resources = (
        Resource.objects.filter(
            service=service,
            template__slug=OIDC_ROLE_TEMPLATE,
            status=ResourceStatus.PROVISIONED,
            environment__slug__in=environments,
        )
        .select_related("environment")
        .order_by("-created_at")
    )
    for resource in resources:
        arn = (resource.outputs or {}).get("role_arn")
        if isinstance(arn, dict):  # Terraform output JSON keeps {"value": ...}
            arn = arn.get("value")
        if arn and resource.environment.slug not in found:
            found[resource.environment.slug] = str(arn)
    return found


def _environments(slugs: Any) -> list[Environment]:
    if not isinstance(slugs, list) or not slugs or not all(isinstance(s, str) for s in slugs):
        raise ServiceError("Choose at least one environment.", field="environments")
    if len(set(slugs)) != len(slugs):
        raise ServiceError("An environment is listed twice.", field="environments")
    known = {e.slug: e for e in Environment.objects.filter(slug__in=slugs)}
    unknown = [s for s in slugs if s not in known]
    if unknown:
        raise ServiceError(
            f"Unknown environment{pluralize(len(unknown))}: {', '.join(unknown)}",
            field="environments",
        )
    # Deploy order is the platform's environment order, whatever order they were picked in.
    return sorted(known.values(), key=lambda e: (e.order, e.slug))


def _validate(template: Any, options: Any) -> None:
    if template not in PipelineTemplate.values:
        raise ServiceError(
            f"Unknown template {template!r}; choose one of {', '.join(PipelineTemplate.values)}",
            field="template",
        )
    errors = generation.validate_options(template, {} if options is None else options)
    if errors:
        raise ServiceError("Invalid options", errors=errors)


def workflow_name(service: Service, template: str) -> str:
    return f"{service.slug} CI/CD ({template})"


def preview(
    service: Service,
    template: str,
    environments: Any,
    options: Any = None,
    *,
    name: str | None = None,
) -> Preview:
    """Generate and check a workflow without saving anything."""
    _validate(template, options)
    envs = _environments(environments)
    options = dict(options or {})
    slugs = [e.slug for e in envs]
    text = generation.generate(
        template,
        service=service.slug,
        workflow_name=name or workflow_name(service, template),
        environments=slugs,
        options=options,
    )
    arns = role_arns(service, slugs)
    warnings = [
        f"Environment {slug} has no GitHub OIDC role yet: request the {OIDC_ROLE_TEMPLATE} "
        f"template for {service.slug} in {slug}, or its deploy job cannot reach AWS."
        for slug in slugs
        if slug not in arns
    ]
    production = [e.slug for e in envs if e.is_production or e.slug == "prod"]
    if production and not options.get("reviewers"):
        warnings.append(
            f"No reviewers set: deployments to {', '.join(production)} will not wait for approval."
        )
    return Preview(yaml=text, findings=check_workflow(text), warnings=warnings, role_arns=arns)


def _require(user: Person | None, service: Service, perm: str, what: str) -> None:
    if not has_team_perm(user, service.team, perm):
        raise Forbidden(f"Your role in team {service.team.slug} does not allow {what}.")


def _apply_preview(pipeline: Pipeline, result: Preview) -> None:
    pipeline.yaml = result.yaml
    pipeline.findings = list(result.findings)
    pipeline.warnings = result.warnings


@transaction.atomic
def create_pipeline(
    service: Service,
    *,
    template: str,
    environments: Any,
    options: Any = None,
    slug: str = "",
    actor: Person | None = None,
    deliver: bool = False,
) -> Pipeline:
    """Create a pipeline for a service (maintainers); optionally queue its delivery."""
    _require(actor, service, "maintain_team", "creating pipelines")
    try:
        repository = parse_repository(service.repository_url)
    except ValueError as exc:
        raise ServiceError(
            f"Service {service.slug} needs a GitHub repository URL first ({exc}).", field="service"
        ) from exc
    slug = (slug or template).strip().lower()
    if len(slug) > SLUG_MAX or not slug.replace("-", "").isalnum():
        raise ServiceError("Use lowercase letters, digits and dashes.", field="slug")
    if Pipeline.objects.filter(service=service, slug=slug).exists():
        raise Conflict(f"Service {service.slug} already has a pipeline {slug!r}.", field="slug")
    result = preview(service, template, environments, options)
    pipeline = Pipeline(
        service=service,
        slug=slug,
        template=template,
        environments=[e.slug for e in _environments(environments)],
        options=dict(options or {}),
        workflow_name=workflow_name(service, template),
        workflow_path=f".github/workflows/{slug}.yml",
        repository=repository,
        branch=f"idp/pipeline-{slug}",
        created_by=signed_in(actor),
    )
    _apply_preview(pipeline, result)
    pipeline.save()
    audit.record(
        AuditAction.PIPELINE_CREATED,
        actor=actor,
        target=pipeline,
        team=service.team,
        details={
            "template": template,
            "environments": pipeline.environments,
            "findings": len(result.findings),
        },
    )
    if deliver:
        request_delivery(pipeline, actor=actor)
    return pipeline


@transaction.atomic
def regenerate_pipeline(
    pipeline: Pipeline,
    *,
    environments: Any = None,
    options: Any = None,
    actor: Person | None = None,
) -> Pipeline:
    """Change environments or options and generate again; the next delivery updates the PR."""
    _require(actor, pipeline.service, "maintain_team", "changing pipelines")
    pipeline = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
    if pipeline.delivery_state in DELIVERY_ACTIVE:
        raise Conflict("A delivery is in progress; try again when it has finished.")
    envs = pipeline.environments if environments is None else environments
    opts = pipeline.options if options is None else options
    result = preview(pipeline.service, pipeline.template, envs, opts, name=pipeline.workflow_name)
    pipeline.environments = [e.slug for e in _environments(envs)]
    pipeline.options = dict(opts or {})
    _apply_preview(pipeline, result)
    pipeline.save(
        update_fields=["environments", "options", "yaml", "findings", "warnings", "updated_at"]
    )
    audit.record(
        AuditAction.PIPELINE_REGENERATED,
        actor=actor,
        target=pipeline,
        team=pipeline.service.team,
        details={"environments": pipeline.environments, "findings": len(result.findings)},
    )
    return pipeline


@transaction.atomic
def request_delivery(pipeline: Pipeline, *, actor: Person | None = None) -> Pipeline:
    """Queue delivery to GitHub (maintainers); refused while checks report findings. The
    delivery is the pipeline's job (idp/jobs): a worker is nudged on commit."""
    _require(actor, pipeline.service, "maintain_team", "delivering pipelines")
    pipeline = (
        Pipeline.objects.select_for_update(of=("self",))  # never the service or team row
        .select_related("service__team")
        .get(pk=pipeline.pk)
    )
    if pipeline.findings:
        raise Conflict(
            f"The workflow has {len(pipeline.findings)} check "
            f"finding{pluralize(len(pipeline.findings))}; fix them before delivery."
        )
    if pipeline.delivery_state in DELIVERY_ACTIVE:
        raise Conflict("This pipeline is already being delivered.")
    pipeline.delivery_state = DeliveryState.QUEUED
    pipeline.last_error = ""
    pipeline.save(update_fields=["delivery_state", "last_error", "updated_at"])
    audit.record(
        AuditAction.PIPELINE_DELIVERY_REQUESTED,
        actor=actor,
        target=pipeline,
        team=pipeline.service.team,
    )
    jobs.request(DELIVERY, pipeline)
    return pipeline


# --- The delivery job (idp/jobs) ---------------------------------------------------------

MAX_RATE_LIMIT_WAIT = 3600  # a rate limit resetting later than this fails the delivery


def _worth_retrying(exc: BaseException) -> bool:
    """A transient GitHub error whose wait (a rate limit's reset) is worth holding on to."""
    return bool(getattr(exc, "transient", False)) and (
        (getattr(exc, "retry_after", 0) or 0) <= MAX_RATE_LIMIT_WAIT
    )


# One first try and five retries, 10 s doubling (a rate limit waits for its reset).
DELIVERY_RETRY = RetryPolicy(transient=(GitHubError,), when=_worth_retrying, max_attempts=6)


def run_delivery(pipeline_id: int, *, task: Any = None) -> Done | None:
    """The worker's entry: claim the pipeline's queued delivery and run it (None: nothing
    queued). A transient GitHub error is retried by DELIVERY_RETRY; others raise."""
    return jobs.execute(DELIVERY, pipeline_id, _deliver_job, task=task)


def _deliver_job(pipeline: Pipeline, workdir: Any) -> Done:
    final = pipeline.attempts >= DELIVERY_RETRY.max_attempts
    try:
        delivered = deliver(pipeline.pk, final_attempt=final)
    except GitHubError as exc:
        if exc.transient and not final and not DELIVERY_RETRY.is_transient(exc):
            deliver_gave_up(pipeline.pk, exc)  # a reset too far away to wait for
        raise
    if delivered.delivery_state == DeliveryState.FAILED:
        return Done(JobStatus.FAILED, delivered.last_error, delivered)
    return Done(JobStatus.SUCCEEDED, "", delivered)


def _delivery_lost(pipeline_id: int, requeued: bool, reason: str) -> None:
    """The worker delivering died: the pipeline says so (queued again, or failed)."""
    Pipeline.objects.filter(pk=pipeline_id).update(
        delivery_state=DeliveryState.QUEUED if requeued else DeliveryState.FAILED,
        last_error=reason,
        updated_at=timezone.now(),
    )


DELIVERY = register(
    JobKind(
        name="pipelines.delivery",
        label="pipeline delivery",
        task="pipelines.tasks.deliver_pipeline",
        model=Pipeline,
        retry=DELIVERY_RETRY,
        on_lost=_delivery_lost,
    )
)


def environment_specs(pipeline: Pipeline) -> list[EnvironmentSpec]:
    """The GitHub environments a pipeline needs: reviewers on production, role and region."""
    envs = {e.slug: e for e in Environment.objects.filter(slug__in=pipeline.environments)}
    arns = role_arns(pipeline.service, pipeline.environments)
    reviewers = list(pipeline.options.get("reviewers") or [])
    specs = []
    for slug in pipeline.environments:
        env = envs.get(slug)
        variables = {
            "AWS_REGION": env.aws_region if env else "us-east-1",
            # The platform the deploy job trades its OIDC token with (the OIDC audience too).
            "IDP_URL": setting("IDP_SITE_URL").rstrip("/"),
        }
        if slug in arns:
            variables["AWS_ROLE_ARN"] = arns[slug]
        production = bool(env and env.is_production) or slug == "prod"
        specs.append(
            EnvironmentSpec(
                name=slug, reviewers=reviewers if production else [], variables=variables
            )
        )
    return specs


def _pr_body(pipeline: Pipeline) -> str:
    return (
        f"This pull request adds the **{pipeline.template}** pipeline for service "
        f"`{pipeline.service.slug}`, generated by the Internal Developer Platform.\n\n"
        f"- Workflow: `{pipeline.workflow_path}`\n"
        f"- Environments: {' → '.join(pipeline.environments)}\n"
        "- Checked with the GitHub workflow schema and actionlint before it left the platform.\n\n"
        "Change it in IDP and regenerate: this pull request is updated in place."
    )


def deliver(pipeline_id: int, *, final_attempt: bool = True) -> Pipeline:
    """Put the workflow into the repository as a PR (called by the deliver_pipeline task).

    Permanent GitHub errors mark the pipeline failed with a clear message; transient ones
    are re-raised (after noting them on the pipeline) so the task can retry with backoff,
    unless this is the final attempt.
    """
    with transaction.atomic():
        pipeline = (
            Pipeline.objects.select_for_update(of=("self",))
            .select_related("service__team")
            .get(pk=pipeline_id)
        )
        if pipeline.findings:
            # Checked again here: nothing with findings leaves the platform, however queued.
            pipeline.delivery_state = DeliveryState.FAILED
            pipeline.last_error = "The workflow has check findings; delivery refused."
            pipeline.save(update_fields=["delivery_state", "last_error", "updated_at"])
            return pipeline
        pipeline.delivery_state = DeliveryState.DELIVERING
        pipeline.save(update_fields=["delivery_state", "updated_at"])
    try:
        result = GitHubDelivery(pipeline.repository).run(
            branch=pipeline.branch,
            path=pipeline.workflow_path,
            content=pipeline.yaml,
            message=f"ci: {'update' if pipeline.pr_number else 'add'} the {pipeline.slug} pipeline"
            " (generated by IDP)",
            pr_title=f"Add the {pipeline.template} CI/CD pipeline ({pipeline.slug})",
            pr_body=_pr_body(pipeline),
            environments=environment_specs(pipeline),
        )
    except GitHubError as exc:
        retrying = exc.transient and not final_attempt
        Pipeline.objects.filter(pk=pipeline.pk).update(
            delivery_state=DeliveryState.QUEUED if retrying else DeliveryState.FAILED,
            last_error=exc.message + (" Retrying." if retrying else ""),
            updated_at=timezone.now(),
        )
        if not retrying:
            audit.record(
                AuditAction.PIPELINE_DELIVERY_FAILED,
                target=pipeline,
                team=pipeline.service.team,
                details={"error": exc.message, "status": exc.status},
            )
        raise
    except Exception:
        # Never leave a pipeline "delivering" forever; the traceback goes to the worker log.
        Pipeline.objects.filter(pk=pipeline.pk).update(
            delivery_state=DeliveryState.FAILED,
            last_error="Delivery failed unexpectedly; the platform team can see why in the logs.",
            updated_at=timezone.now(),
        )
        raise
    with transaction.atomic():
        pipeline = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
        pipeline.delivery_state = DeliveryState.DELIVERED
        pipeline.pr_number = result.pr_number
        pipeline.pr_url = result.pr_url
        pipeline.delivered_sha = result.commit_sha
        pipeline.delivered_at = timezone.now()
        pipeline.last_error = ""
        pipeline.save(
            update_fields=[
                "delivery_state",
                "pr_number",
                "pr_url",
                "delivered_sha",
                "delivered_at",
                "last_error",
                "updated_at",
            ]
        )
        audit.record(
            AuditAction.PIPELINE_DELIVERED,
            target=pipeline,
            team=pipeline.service.team,
            details={"pr": result.pr_url, "commit": result.commit_sha, "new_pr": result.created_pr},
        )
    return pipeline


def deliver_gave_up(pipeline_id: int, error: GitHubError) -> None:
    """Mark a delivery failed when retrying is not worth it (e.g. a rate limit resets too late)."""
    pipeline = Pipeline.objects.select_related("service__team").get(pk=pipeline_id)
    Pipeline.objects.filter(pk=pipeline_id).update(
        delivery_state=DeliveryState.FAILED, last_error=error.message, updated_at=timezone.now()
    )
    audit.record(
        AuditAction.PIPELINE_DELIVERY_FAILED,
        target=pipeline,
        team=pipeline.service.team,
        details={"error": error.message, "status": error.status},
    )
