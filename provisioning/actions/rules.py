"""The rules of a resource request, each in one place: surfaces parse input and hand over.

Lookups resolve what the caller named; another team's objects read as unknown (the same
answer as a name that does not exist), never as "not yours".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.utils import timezone

from catalog import sensitivity
from catalog.models import Service, Template, TemplateVersion
from catalog.services import validate_parameters
from idp.actors import Person
from idp.models import SLUG_PATTERN, SLUG_RULE, Environment, Team
from idp.rbac import has_team_perm, restriction_refusal
from idp.services import Forbidden, ServiceError

from ..models import Resource

# A resource name follows the platform's naming rule: it names AWS resources, state keys
# and parameter paths.
NAME_PATTERN = re.compile(SLUG_PATTERN)
NAME_RULE = SLUG_RULE


class Errors:
    """Refusals of independent checks, gathered so a form shows every one at once."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    @contextmanager
    def collect(self) -> Iterator[None]:
        try:
            yield
        except ServiceError as error:
            if error.status != 400:
                raise
            for field, messages in _field_messages(error).items():
                self.errors.setdefault(field, []).extend(messages)

    def raise_any(self) -> None:
        if self.errors:
            field, messages = next(iter(self.errors.items()))
            only = field if len(self.errors) == 1 else None
            raise ServiceError(messages[0], field=only, errors=self.errors)


def _field_messages(error: ServiceError) -> dict[str, list[str]]:
    if error.errors:
        return error.errors
    return {error.field or "non_field_errors": [error.message]}


def validate_name(value: Any) -> str:
    """The resource name rule (portal, API, CLI and admin all reach it through the actions)."""
    name = str(value or "").strip()
    if not NAME_PATTERN.fullmatch(name):
        raise ServiceError(NAME_RULE, field="name")
    return name


def resolve_template(value: Template | str | None) -> Template:
    template: Template | None = (
        value
        if isinstance(value, Template)
        else Template.objects.filter(slug=str(value or "")).first()
    )
    if template is None:
        raise ServiceError(f"Unknown template {value!r}", field="template")
    if template.deprecated:
        raise ServiceError(f"Template {template.slug} is deprecated", field="template")
    return template


def resolve_version(
    template: Template, value: TemplateVersion | str | int | None
) -> TemplateVersion:
    """A version of the template by number, by label (a source's tag such as `v1.1.0`, the
    `v` optional; `v3` for a local folder's version 3) or the object; empty = the current
    version."""
    if isinstance(value, TemplateVersion):
        if value.template_id != template.pk:
            raise ServiceError("That version belongs to another template", field="version")
        return value
    if value in (None, ""):
        version = template.current_version or template.versions.order_by("-number").first()
    elif isinstance(value, int):
        version = template.versions.filter(number=value).first()
    elif str(value).strip().isdigit():
        version = template.versions.filter(number=int(str(value))).first()
    else:
        label = str(value).strip()
        version = (
            template.versions.filter(label=label).first()
            or template.versions.filter(label__in=[f"v{label}", label.removeprefix("v")]).first()
        )
        if version is None and label[:1] in ("v", "V") and label[1:].isdigit():
            # `v3`: how a local folder's (untagged) version is named (catalog.models).
            version = template.versions.filter(label="", number=int(label[1:])).first()
    if version is None:
        raise ServiceError(f"Template {template.slug} has no version {value!r}", field="version")
    return version


def resolve_team(value: Team | str | None, actor: Person) -> Team:
    """A team the actor can see; an unknown team and another team's read the same."""
    team = value if isinstance(value, Team) else Team.objects.filter(slug=str(value or "")).first()
    if team is None or not has_team_perm(actor, team, "view_team"):
        raise ServiceError(f"Unknown team {getattr(team, 'slug', value)!r}", field="team")
    return team


def resolve_environment(value: Environment | str | None) -> Environment:
    if isinstance(value, Environment):
        return value
    env = Environment.objects.filter(slug=str(value or "")).first()
    if env is None:
        raise ServiceError(f"Unknown environment {value!r}", field="environment")
    return env


def resolve_service(value: Service | str | None, team: Team) -> Service | None:
    """A service of the team, or none; another team's service reads as unknown."""
    if value in (None, ""):
        return None
    service = (
        value if isinstance(value, Service) else Service.objects.filter(slug=str(value)).first()
    )
    if service is None or service.team_id != team.pk:
        name = service.slug if isinstance(service, Service) else value
        raise ServiceError(f"Unknown service {name!r} of team {team.slug}", field="service")
    return service


def check_environment(version: TemplateVersion, environment: Environment) -> None:
    if not version.allows_environment(environment.slug):
        raise ServiceError(f"{version} cannot be used in {environment.slug}", field="environment")


def check_expiry(environment: Environment, expires_at: datetime | None) -> None:
    if expires_at is None:
        return
    if not environment.allows_ttl:
        raise ServiceError(f"{environment.name} does not allow an expiry date", field="expires_at")
    if expires_at <= timezone.now():
        raise ServiceError("Choose an expiry in the future", field="expires_at")


def clean_parameters(
    version: TemplateVersion, parameters: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate with the catalog's validator; (plain, sensitive) parts of the cleaned values."""
    if not isinstance(parameters, dict):
        raise ServiceError("Parameters must be an object", field="parameters")
    cleaned = dict(validate_parameters(version, parameters))
    return sensitivity.split(version, cleaned)


def require(user: Person, team: Team, perm: str, what: str) -> None:
    if not has_team_perm(user, team, perm):
        raise Forbidden(f"Your role in {team.slug} does not allow you to {what}")


def refusal_on(user: Person, resource: Resource, perm: str, what: str) -> Forbidden | None:
    """Why `user` may not `what` on this resource with the team permission `perm`: their
    role in its team, or the resource's restriction (resource-level permissions)."""
    if not has_team_perm(user, resource.team, perm):
        return Forbidden(f"Your role in {resource.team.slug} does not allow you to {what}")
    reason = restriction_refusal(user, resource)
    return Forbidden(reason) if reason else None


def require_on(user: Person, resource: Resource, perm: str, what: str) -> None:
    refusal = refusal_on(user, resource, perm, what)
    if refusal is not None:
        raise refusal
