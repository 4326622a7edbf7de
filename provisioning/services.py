"""Provisioning operations: one function per transition of a resource.

The portal, the API, Django admin actions, management commands and Celery tasks all
call these. Each is atomic, writes its audit event and queues Terraform work with
`transaction.on_commit` (the run row is the source of truth; the message is a nudge).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import Service, Template, TemplateVersion
from idp import audit
from idp.models import Environment, Team
from idp.rbac import has_team_perm, is_platform_admin
from idp.services import Conflict, Forbidden, ServiceError

from .api.presenters import sensitive_parameter_names
from .choices import (
    RESOURCE_BUSY,
    RESOURCE_GONE,
    RUN_ACTIVE,
    ApprovalDecision,
    ResourceStatus,
    RunKind,
    RunStatus,
)
from .engine import dispatch
from .engine.crypto import decrypt_json, encrypt_json
from .models import Approval, Resource, ResourceLock, Run, RunLogChunk

ACTIONS = ("approve", "reject", "plan", "retry", "destroy", "change", "upgrade", "cancel")
# States from which a new plan (re-plan, change, upgrade, destroy) may start.
PLANNABLE = {ResourceStatus.PROVISIONED, ResourceStatus.FAILED, ResourceStatus.AWAITING_APPROVAL}
LOG_PAGE = 64 * 1024


# --- lookups and validation ---------------------------------------------------------------


def _template(value: Any) -> Template:
    if isinstance(value, Template):
        return value
    template = Template.objects.filter(slug=str(value or "")).first()
    if template is None:
        raise ServiceError(f"Unknown template {value!r}", field="template")
    return template


def _version(template: Template, value: Any) -> TemplateVersion:
    if isinstance(value, TemplateVersion):
        if value.template_id != template.pk:
            raise ServiceError("That version belongs to another template", field="version")
        return value
    if value in (None, ""):
        version = template.current_version or template.versions.order_by("-number").first()
    else:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ServiceError(f"Unknown version {value!r}", field="version") from None
        version = template.versions.filter(number=number).first()
    if version is None:
        raise ServiceError(f"Unknown version {value!r} of {template.slug}", field="version")
    return version


def _team(value: Any) -> Team:
    if isinstance(value, Team):
        return value
    team = Team.objects.filter(slug=str(value or "")).first()
    if team is None:
        raise ServiceError(f"Unknown team {value!r}", field="team")
    return team


def _environment(value: Any) -> Environment:
    if isinstance(value, Environment):
        return value
    env = Environment.objects.filter(slug=str(value or "")).first()
    if env is None:
        raise ServiceError(f"Unknown environment {value!r}", field="environment")
    return env


def _service(value: Any, team: Team) -> Service | None:
    if value in (None, ""):
        return None
    service = (
        value if isinstance(value, Service) else Service.objects.filter(slug=str(value)).first()
    )
    if service is None or service.team_id != team.pk:
        raise ServiceError(f"Unknown service {value!r} of team {team.slug}", field="service")
    return service


def _validate(version: TemplateVersion, parameters: Any) -> dict[str, Any]:
    """Clean parameters with the catalog's validator (JSON Schema with field errors)."""
    if not isinstance(parameters, dict):
        raise ServiceError("Parameters must be an object", field="parameters")
    try:
        from catalog.services import validate_parameters
    except ImportError:  # the catalog's validator not landed yet: plain JSON Schema
        return _validate_schema(version, parameters)
    return dict(validate_parameters(version, parameters))


def _validate_schema(version: TemplateVersion, parameters: dict[str, Any]) -> dict[str, Any]:
    import jsonschema

    schema = version.parameters_schema or {"type": "object"}
    errors: dict[str, list[str]] = {}
    for error in jsonschema.Draft202012Validator(schema).iter_errors(parameters):
        path = ".".join(str(p) for p in error.absolute_path)
        if not path and error.validator == "required":
            path = str(error.message).split("'")[1] if "'" in error.message else ""
        key = f"parameters.{path}" if path else "parameters"
        errors.setdefault(key, []).append(error.message)
    if errors:
        raise ServiceError("Invalid parameters", errors=errors)
    return dict(parameters)


def _split_sensitive(version: TemplateVersion, cleaned: dict[str, Any]) -> tuple[dict, dict]:
    secret_names = set(sensitive_parameter_names(version))
    plain = {k: v for k, v in cleaned.items() if k not in secret_names}
    secret = {k: v for k, v in cleaned.items() if k in secret_names}
    return plain, secret


def _require(user: Any, team: Team, perm: str, what: str) -> None:
    if not has_team_perm(user, team, perm):
        raise Forbidden(f"Your role in {team.slug} does not allow you to {what}")


def _latest_plan(resource: Resource) -> Run | None:
    return resource.runs.filter(kind=RunKind.PLAN).order_by("-pk").first()


def _locked(resource: Resource) -> Resource:
    """Re-read the resource with a row lock: every transition starts from the current row."""
    return (
        Resource.objects.select_for_update()
        .select_related("team", "environment")
        .get(pk=resource.pk)
    )


def _ensure_idle(resource: Resource) -> None:
    if resource.status in RESOURCE_GONE:
        raise Conflict(f"The resource is {resource.status}")
    if (
        resource.status in RESOURCE_BUSY
        or resource.runs.filter(status__in=RUN_ACTIVE).exclude(kind=RunKind.DRIFT).exists()
    ):
        raise Conflict(f"The resource is busy ({resource.status}); wait for its run to finish")


# --- request ------------------------------------------------------------------------------


def request_resource(
    *,
    actor: Any,
    template: Any,
    version: Any,
    team: Any,
    environment: Any,
    name: str,
    parameters: dict[str, Any],
    service: Any = None,
    expires_at: datetime | None = None,
    idempotency_key: str | None = None,
) -> Resource:
    """Request a new resource: validate, record it `pending` and queue its first plan.

    The same idempotency key from the same user returns the resource made the first time.
    """
    key = (idempotency_key or "").strip()[:200]
    if key and getattr(actor, "is_authenticated", False):
        existing = Resource.objects.filter(requested_by=actor, idempotency_key=key).first()
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            return _request_resource(
                actor=actor,
                template=template,
                version=version,
                team=team,
                environment=environment,
                name=name,
                parameters=parameters,
                service=service,
                expires_at=expires_at,
                key=key,
            )
    except IntegrityError:
        if key:  # a concurrent request with the same key won the race
            existing = Resource.objects.filter(requested_by=actor, idempotency_key=key).first()
            if existing is not None:
                return existing
        raise Conflict(
            f"A live resource named {name!r} already exists here", field="name"
        ) from None


def _request_resource(
    *,
    actor: Any,
    template: Any,
    version: Any,
    team: Any,
    environment: Any,
    name: str,
    parameters: dict[str, Any],
    service: Any,
    expires_at: datetime | None,
    key: str,
) -> Resource:
    from monitoring.budget import request_needs_admin_approval

    tmpl = _template(template)
    if tmpl.deprecated:
        raise ServiceError(f"Template {tmpl.slug} is deprecated", field="template")
    ver = _version(tmpl, version)
    team_obj = _team(team)
    if not has_team_perm(actor, team_obj, "view_team"):
        # Another team's existence is not revealed: it reads as unknown.
        raise ServiceError(f"Unknown team {team_obj.slug!r}", field="team")
    _require(actor, team_obj, "use_team", "request resources")
    env = _environment(environment)
    if not ver.allows_environment(env.slug):
        raise ServiceError(
            f"Template {tmpl.slug} cannot be used in {env.slug}", field="environment"
        )
    svc = _service(service, team_obj)
    name = str(name or "").strip()
    try:
        validate_slug(name)
    except ValidationError:
        raise ServiceError("Use lowercase letters, digits and hyphens", field="name") from None
    if len(name) > 63:
        raise ServiceError("At most 63 characters", field="name")
    if (
        Resource.objects.filter(team=team_obj, environment=env, name=name)
        .exclude(status__in=RESOURCE_GONE)
        .exists()
    ):
        raise Conflict(f"A live resource named {name!r} already exists in {env.slug}", field="name")
    if expires_at is not None:
        if not env.allows_ttl:
            raise ServiceError(f"Resources in {env.slug} cannot expire", field="expires_at")
        if expires_at <= timezone.now():
            raise ServiceError("The expiry must be in the future", field="expires_at")
    cleaned = _validate(ver, parameters)
    plain, secret = _split_sensitive(ver, cleaned)
    needs_admin, estimate = request_needs_admin_approval(team_obj, ver, cleaned)
    resource = Resource.objects.create(
        team=team_obj,
        service=svc,
        template=tmpl,
        template_version=ver,
        environment=env,
        name=name,
        parameters=plain,
        sensitive_parameters=encrypt_json(secret),
        status=ResourceStatus.PENDING,
        requested_by=actor if actor and actor.is_authenticated else None,
        requires_platform_admin=bool(needs_admin),
        estimated_monthly_cost=estimate,
        expires_at=expires_at,
        idempotency_key=key,
    )
    run = dispatch.new_run(resource, RunKind.PLAN, actor=actor, version=ver, parameters=plain)
    audit.record(
        "resource.requested",
        actor=actor,
        target=resource,
        details={
            "template": str(ver),
            "environment": env.slug,
            "run": run.pk,
            "requires_platform_admin": bool(needs_admin),
        },
    )
    return resource


# --- day-2 plans --------------------------------------------------------------------------


def _start_plan(
    resource: Resource,
    *,
    actor: Any,
    action: str,
    version: TemplateVersion | None = None,
    parameters: dict[str, Any] | None = None,
    is_destroy: bool = False,
    details: dict[str, Any] | None = None,
) -> Run:
    resource.status = ResourceStatus.DESTROYING if is_destroy else ResourceStatus.PLANNING
    resource.last_error = ""
    resource.save(update_fields=["status", "last_error", "updated_at"])
    run = dispatch.new_run(
        resource,
        RunKind.PLAN,
        actor=actor,
        version=version or resource.template_version,
        parameters=resource.parameters if parameters is None else parameters,
        is_destroy=is_destroy,
    )
    audit.record(action, actor=actor, target=resource, details={"run": run.pk, **(details or {})})
    return run


@transaction.atomic
def change_parameters(resource: Resource, parameters: dict[str, Any], *, actor: Any) -> Run:
    """Plan the resource with new parameters (same approval rules as a request).

    The given parameters replace the current ones; a sensitive parameter left out keeps its
    stored value (it is never shown, so a form cannot send it back).
    """
    resource = _locked(resource)
    _require(actor, resource.team, "use_team", "change resources")
    _ensure_idle(resource)
    if not isinstance(parameters, dict):
        raise ServiceError("Parameters must be an object", field="parameters")
    secrets = decrypt_json(resource.sensitive_parameters)
    cleaned = _validate(resource.template_version, {**secrets, **parameters})
    plain, secret = _split_sensitive(resource.template_version, cleaned)
    resource.sensitive_parameters = encrypt_json(secret)
    resource.save(update_fields=["sensitive_parameters"])
    changed = sorted(
        k
        for k in set(plain) | set(resource.parameters)
        if plain.get(k) != resource.parameters.get(k)
    )
    return _start_plan(
        resource,
        actor=actor,
        action="resource.parameters_changed",
        parameters=plain,
        details={"changed": changed},
    )


@transaction.atomic
def replan(resource: Resource, *, actor: Any) -> Run:
    """Plan the resource again with its current version and parameters."""
    resource = _locked(resource)
    _require(actor, resource.team, "use_team", "plan resources")
    _ensure_idle(resource)
    last = _latest_plan(resource)
    params = last.parameters if last is not None else resource.parameters
    version = last.template_version if last is not None else resource.template_version
    return _start_plan(
        resource, actor=actor, action="resource.replanned", version=version, parameters=params
    )


@transaction.atomic
def upgrade(resource: Resource, version: Any = None, *, actor: Any) -> Run:
    """Plan the resource on another template version (the current one by default)."""
    resource = _locked(resource)
    _require(actor, resource.team, "use_team", "upgrade resources")
    _ensure_idle(resource)
    target = _version(resource.template, version)
    if target.pk == resource.template_version_id:
        raise Conflict(f"The resource already uses {target}", field="version")
    if not target.allows_environment(resource.environment.slug):
        raise ServiceError(
            f"{target} cannot be used in {resource.environment.slug}", field="version"
        )
    current = {**resource.parameters, **decrypt_json(resource.sensitive_parameters)}
    known = set((target.parameters_schema or {}).get("properties", {}) or {})
    # Parameters the new version dropped are left behind; new ones take their defaults.
    cleaned = _validate(target, {k: v for k, v in current.items() if not known or k in known})
    plain, secret = _split_sensitive(target, cleaned)
    resource.sensitive_parameters = encrypt_json(secret)
    resource.save(update_fields=["sensitive_parameters"])
    return _start_plan(
        resource,
        actor=actor,
        action="resource.upgrade_planned",
        version=target,
        parameters=plain,
        details={"from": str(resource.template_version), "to": str(target)},
    )


@transaction.atomic
def request_destroy(resource: Resource, *, actor: Any) -> Run:
    """Plan the destruction of the resource (`plan -destroy`, then approval rules, apply)."""
    resource = _locked(resource)
    _require(actor, resource.team, "maintain_team", "destroy resources")
    _ensure_idle(resource)
    return _start_plan(
        resource,
        actor=actor,
        action="resource.destroy_requested",
        version=resource.template_version,
        parameters=resource.parameters,
        is_destroy=True,
    )


@transaction.atomic
def retry(resource: Resource, *, actor: Any) -> Run:
    """Start over after a failed run: a new plan (a failed apply's plan is stale)."""
    resource = _locked(resource)
    _require(actor, resource.team, "use_team", "retry runs")
    if resource.status != ResourceStatus.FAILED:
        raise Conflict(f"Only a failed resource can be retried (it is {resource.status})")
    _ensure_idle(resource)
    last = resource.runs.exclude(kind=RunKind.DRIFT).order_by("-pk").first()
    is_destroy = bool(last and last.is_destroy)
    plan = _latest_plan(resource)
    version = plan.template_version if plan else resource.template_version
    params = plan.parameters if plan else resource.parameters
    return _start_plan(
        resource,
        actor=actor,
        action="resource.retried",
        version=version,
        parameters=params,
        is_destroy=is_destroy,
        details={"failed_run": last.pk if last else None},
    )


# --- approval -----------------------------------------------------------------------------


def _check_approver(resource: Resource, actor: Any, plan: Run | None) -> None:
    """Maintainers and admins of the team who did not ask for the plan, or a platform admin."""
    if is_platform_admin(actor):
        return
    if resource.requires_platform_admin:
        raise Forbidden("This request is over the team's budget: only a platform admin may decide")
    _require(actor, resource.team, "maintain_team", "approve plans")
    requester = (plan.created_by_id if plan else None) or resource.requested_by_id
    if requester is not None and requester == actor.pk:
        raise Forbidden("You cannot approve or reject your own request (four eyes)")


def _pending_plan(resource: Resource) -> Run:
    if resource.status != ResourceStatus.AWAITING_APPROVAL:
        raise Conflict(f"The resource is not awaiting approval (it is {resource.status})")
    plan = _latest_plan(resource)
    if plan is None or plan.status != RunStatus.SUCCEEDED or not plan.plan_hash:
        raise Conflict("There is no plan awaiting approval")
    if plan.approvals.exists():
        raise Conflict("This plan was already decided")
    return plan


def approval_ttl() -> timedelta:
    return timedelta(hours=int(getattr(settings, "IDP_APPROVAL_TTL_HOURS", 72)))


@transaction.atomic
def approve(resource: Resource, *, actor: Any, reason: str = "") -> Approval:
    """Approve the pending plan and queue the apply of exactly that plan file."""
    resource = _locked(resource)
    plan = _latest_plan(resource)
    _check_approver(resource, actor, plan)
    plan = _pending_plan(resource)
    now = timezone.now()
    if plan.finished_at and plan.finished_at + approval_ttl() < now:
        raise Conflict("The plan expired before it was approved; re-plan the resource")
    approval = Approval.objects.create(
        resource=resource,
        run=plan,
        decision=ApprovalDecision.APPROVED,
        decided_by=actor,
        reason=(reason or "").strip(),
        plan_hash=plan.plan_hash,
        expires_at=now + approval_ttl(),
    )
    resource.status = ResourceStatus.DESTROYING if plan.is_destroy else ResourceStatus.APPLYING
    resource.save(update_fields=["status", "updated_at"])
    apply_run = dispatch.new_run(
        resource,
        RunKind.DESTROY if plan.is_destroy else RunKind.APPLY,
        actor=actor,
        version=plan.template_version,
        parameters=plan.parameters,
        is_destroy=plan.is_destroy,
        plan_run=plan,
    )
    audit.record(
        "resource.approved",
        actor=actor,
        target=resource,
        details={
            "plan_run": plan.pk,
            "apply_run": apply_run.pk,
            "reason": approval.reason,
            "plan_hash": plan.plan_hash,
        },
    )
    return approval


@transaction.atomic
def reject(resource: Resource, *, actor: Any, reason: str) -> Approval:
    """Reject the pending plan; a reason is required. A rejected request ends the resource."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Give a reason for the rejection", field="reason")
    resource = _locked(resource)
    plan = _latest_plan(resource)
    _check_approver(resource, actor, plan)
    plan = _pending_plan(resource)
    approval = Approval.objects.create(
        resource=resource,
        run=plan,
        decision=ApprovalDecision.REJECTED,
        decided_by=actor,
        reason=reason,
        plan_hash=plan.plan_hash,
    )
    # A rejected first request is gone; a rejected change leaves what exists as it was.
    resource.status = (
        ResourceStatus.PROVISIONED if resource.provisioned_at else ResourceStatus.REJECTED
    )
    resource.save(update_fields=["status", "updated_at"])
    audit.record(
        "resource.rejected",
        actor=actor,
        target=resource,
        details={"plan_run": plan.pk, "reason": reason},
    )
    return approval


# --- runs ---------------------------------------------------------------------------------


@transaction.atomic
def cancel_run(run: Run, *, actor: Any) -> Run:
    """Cancel a queued run at once; ask a running one to stop (Terraform is interrupted)."""
    resource = _locked(run.resource)  # the resource row first, then the run (lock order)
    run = Run.objects.select_for_update().select_related("resource__team").get(pk=run.pk)
    _require(actor, run.resource.team, "use_team", "cancel runs")
    if run.status not in RUN_ACTIVE:
        raise Conflict(f"The run is already {run.status}")
    if run.status == RunStatus.QUEUED:
        dispatch.finish_cancelled(run, resource)
    elif not run.cancel_requested:
        run.cancel_requested = True
        run.save(update_fields=["cancel_requested"])
    audit.record(
        "run.cancel_requested",
        actor=actor,
        target=run,
        team=run.resource.team,
        details={"kind": run.kind, "status": run.status},
    )
    return run


@transaction.atomic
def unlock(resource: Resource, *, actor: Any) -> None:
    """Clear a stale lock (the platform's and Terraform's) so the next run can start."""
    from .engine.backend import delete_state_lock

    resource = _locked(resource)
    if actor is not None and getattr(actor, "is_authenticated", False):
        _require(actor, resource.team, "maintain_team", "unlock resources")
    lock = ResourceLock.objects.filter(resource=resource).select_related("run").first()
    run = lock.run if lock else None
    if (
        run is not None
        and run.status == RunStatus.RUNNING
        and run.heartbeat_at
        and (run.heartbeat_at > dispatch.stale_before())
    ):
        raise Conflict(f"Run {run.pk} is still running; cancel it instead")
    if run is not None and run.status == RunStatus.RUNNING:
        run.status = RunStatus.FAILED
        run.error = "Unlocked by an operator"
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        dispatch.settle_after_stop(resource, f"Run {run.pk} was unlocked by an operator")
    if lock is not None:
        lock.delete()
    delete_state_lock(resource)
    dispatch.release(resource.pk, run.pk if run else 0)
    audit.record(
        "resource.unlocked", actor=actor, target=resource, details={"run": run.pk if run else None}
    )


def read_run_log(run: Run, offset: int = 0, limit: int = LOG_PAGE) -> tuple[str, int, bool]:
    """A page of the run's log from a character offset: (text, next_offset, complete)."""
    offset = max(0, int(offset or 0))
    limit = max(1, min(int(limit or LOG_PAGE), 1024 * 1024))
    chunks = RunLogChunk.objects.filter(run=run, offset__lt=offset + limit).order_by("seq")
    first = RunLogChunk.objects.filter(run=run, offset__lte=offset).order_by("-seq").first()
    if first is not None:
        chunks = chunks.filter(seq__gte=first.seq)
    parts: list[str] = []
    for chunk in chunks:
        start = max(0, offset - chunk.offset)
        parts.append(chunk.text[start:])
    text = "".join(parts)[:limit]
    next_offset = offset + len(text)
    status = Run.objects.filter(pk=run.pk).values_list("status", "log_size").first()
    complete = bool(status and status[0] not in RUN_ACTIVE and next_offset >= status[1])
    return text, next_offset, complete


def allowed_actions(resource: Resource, user: Any) -> set[str]:
    """Which actions `user` may take on the resource now (the UI and API show only these)."""
    actions: set[str] = set()
    team = resource.team
    if not has_team_perm(user, team, "use_team"):
        return actions
    busy = resource.runs.filter(status__in=RUN_ACTIVE).exclude(kind=RunKind.DRIFT).exists()
    if resource.runs.filter(status__in=RUN_ACTIVE).exists():
        actions.add("cancel")
    if resource.status == ResourceStatus.AWAITING_APPROVAL:
        try:
            _check_approver(resource, user, _latest_plan(resource))
            actions |= {"approve", "reject"}
        except (Forbidden, Conflict):
            pass
    if resource.status in PLANNABLE and not busy:
        actions |= {"plan", "change"}
        current = resource.template.current_version_id
        if current and current != resource.template_version_id:
            actions.add("upgrade")
        if has_team_perm(user, team, "maintain_team"):
            actions.add("destroy")
    if resource.status == ResourceStatus.FAILED and not busy:
        actions.add("retry")
    return actions


# --- scheduled work -----------------------------------------------------------------------


def detect_drift(resources: Any = None) -> list[Run]:
    """Queue a refresh-only plan for each provisioned resource without an active run."""
    qs = (
        Resource.objects.filter(status=ResourceStatus.PROVISIONED)
        if resources is None
        else resources
    )
    runs: list[Run] = []
    for resource in qs:
        with transaction.atomic():
            locked = _locked(resource)
            if (
                locked.status != ResourceStatus.PROVISIONED
                or locked.runs.filter(status__in=RUN_ACTIVE).exists()
            ):
                continue
            run = dispatch.new_run(
                locked, RunKind.DRIFT, version=locked.template_version, parameters=locked.parameters
            )
            audit.record("resource.drift_check_queued", target=locked, details={"run": run.pk})
            runs.append(run)
    return runs


def expire_resources(now: datetime | None = None) -> list[Resource]:
    """Plan the destruction of resources whose expiry has passed (the system acts)."""
    now = now or timezone.now()
    due = Resource.objects.filter(
        expires_at__lte=now,
        status__in=[ResourceStatus.PROVISIONED, ResourceStatus.FAILED],
    )
    expired: list[Resource] = []
    for resource in due:
        with transaction.atomic():
            locked = _locked(resource)
            if locked.runs.filter(status__in=RUN_ACTIVE).exists():
                continue
            # The expiry may have been cleared since the query: then it stays.
            if locked.expires_at is None or locked.status not in (
                ResourceStatus.PROVISIONED,
                ResourceStatus.FAILED,
            ):
                continue
            _start_plan(
                locked,
                actor=None,
                action="resource.expired",
                is_destroy=True,
                version=locked.template_version,
                parameters=locked.parameters,
                details={"expires_at": locked.expires_at.isoformat()},
            )
            expired.append(locked)
    return expired
