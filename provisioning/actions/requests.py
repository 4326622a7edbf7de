"""Requesting a new resource."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from catalog.models import Service, Template, TemplateVersion
from catalog.services.costs import estimate_monthly_cost
from catalog.services.sources import version_refusal
from idp import audit
from idp.actors import Person, signed_in
from idp.db import retry_on_deadlock
from idp.models import Environment, Team
from idp.services import Conflict, ServiceError

from .. import dispatch, lifecycle
from ..choices import RESOURCE_GONE, AuditAction, RunKind
from ..crypto import encrypt_json
from ..models import Resource
from . import dependencies, rules
from .results import Requested

logger = logging.getLogger(__name__)


@retry_on_deadlock  # a lost race (deadlock) runs the whole request again, a few times
def request_resource(
    *,
    actor: Person,
    template: Template | str,
    version: TemplateVersion | str | int | None,
    team: Team | str,
    environment: Environment | str,
    name: Any,
    parameters: Any,
    service: Service | str | None = None,
    expires_at: datetime | None = None,
    idempotency_key: str | None = None,
) -> Requested:
    """Request a new resource: check every rule, record it `pending` and queue its first plan.

    Takes slugs or resolved objects alike (the rules are the same). With an idempotency key,
    requests racing each other get one answer: one of them makes the resource, every other
    one (before, during or after it) gets that resource back (`Requested.created` False),
    never a second row and never a name conflict with itself. The key is checked again
    inside the transaction (SQLite serialises writers there); on PostgreSQL the loser of a
    race waits on the unique index until the winner commits, then finds its resource.
    """
    key = _key(idempotency_key)
    keyed = bool(key) and bool(getattr(actor, "is_authenticated", False))
    if keyed:
        existing = replayed(actor, key)
        if existing is not None:
            return Requested(existing, None)
    try:
        with transaction.atomic():
            if keyed:
                existing = replayed(actor, key)
                if existing is not None:
                    return Requested(existing, None)
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
    except (IntegrityError, Conflict) as exc:
        if keyed:  # a concurrent request with the same key won the race: its answer is ours
            existing = replayed(actor, key)
            if existing is not None:
                return Requested(existing, None)
        if isinstance(exc, Conflict):
            raise
        raise Conflict(
            f"A live resource named {name!r} already exists here", field="name"
        ) from None


def _estimate(version: TemplateVersion, parameters: dict[str, Any]) -> Decimal | None:
    """The monthly estimate of the request (the form's price); a hint, so never a refusal."""
    try:
        return estimate_monthly_cost(version, parameters)
    except Exception:  # malformed cost hints: no price, as on the request form
        logger.warning("cost estimate failed for %s", version, exc_info=True)
        return None


def _key(idempotency_key: str | None) -> str:
    return (idempotency_key or "").strip()[:200]


def replayed(actor: Person, idempotency_key: str | None) -> Resource | None:
    """The resource `actor` already requested with this idempotency key, if any (the one
    lookup of a key; a repeat is answered with it before its body is even parsed)."""
    key = _key(idempotency_key)
    user = signed_in(actor)
    if not key or user is None:
        return None
    return Resource.objects.filter(requested_by=user, idempotency_key=key).first()


def _request_resource(
    *,
    actor: Person,
    template: Template | str,
    version: TemplateVersion | str | int | None,
    team: Team | str,
    environment: Environment | str,
    name: Any,
    parameters: Any,
    service: Service | str | None,
    expires_at: datetime | None,
    key: str,
) -> Requested:
    tmpl = rules.resolve_template(template)
    ver = rules.resolve_version(tmpl, version)
    if refusal := version_refusal(ver):  # a withdrawn version takes no new requests
        raise ServiceError(refusal, field="version")
    team_obj = rules.resolve_team(team, actor)
    rules.require(actor, team_obj, "use_team", "request resources")
    env = rules.resolve_environment(environment)
    # The checks below do not depend on each other: every refusal is reported at once.
    errors = rules.Errors()
    with errors.collect():
        rules.check_environment(ver, env)
    with errors.collect():
        svc = rules.resolve_service(service, team_obj)
    with errors.collect():
        name = rules.validate_name(name)
    with errors.collect():
        rules.check_expiry(env, expires_at)
    with errors.collect():
        plain, secret = rules.clean_parameters(ver, parameters)
    bound: dict[str, dependencies.Binding] = {}
    with errors.collect():
        bound = dependencies.bind(ver, parameters, team=team_obj, environment=env)
    errors.raise_any()
    plain = dependencies.canonical(plain, bound)
    if (
        Resource.objects.filter(team=team_obj, environment=env, name=name)
        .exclude(status__in=RESOURCE_GONE)
        .exists()
    ):
        raise Conflict(f"A live resource named {name!r} already exists in {env.slug}", field="name")
    # Until its first apply, what the resource holds is what was requested; the approval
    # policy and the budget gate judge the plan made from it. The estimate the request form
    # showed is kept until its plan prices it (or when the plan fails).
    resource = Resource.objects.create(
        team=team_obj,
        service=svc,
        template=tmpl,
        template_version=ver,
        environment=env,
        name=name,
        parameters=plain,
        sensitive_parameters=encrypt_json(secret),
        status=lifecycle.first_status(),
        requested_by=actor if actor and actor.is_authenticated else None,
        expires_at=expires_at,
        idempotency_key=key,
        estimated_monthly_cost=_estimate(ver, plain),
    )
    dependencies.record_bindings(resource, bound)
    run = dispatch.new_run(resource, RunKind.PLAN, actor=actor, version=ver, parameters=plain)
    audit.record(
        AuditAction.REQUESTED,
        actor=actor,
        target=resource,
        details={"template": str(ver), "environment": env.slug, "run": run.pk},
    )
    return Requested(resource, run)
