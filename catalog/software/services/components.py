"""Services: the software components teams own. Create, update, archive — each audited."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from catalog.choices import AuditAction, Lifecycle, Tier
from catalog.models import Service
from idp import audit
from idp.models import Team
from idp.rbac import has_team_perm
from idp.services import Conflict, Forbidden, ServiceError

RESERVED_SLUGS = {"new"}  # portal paths under /catalog/services/
EDITABLE = ("name", "description", "repository_url", "lifecycle", "tier", "links", "tags", "team")


def _require_maintainer(actor: Any, team: Team) -> None:
    # actor None = the system (seed data, management commands).
    if actor is not None and not has_team_perm(actor, team, "maintain_team"):
        raise Forbidden(f"Only maintainers of team {team.slug} may change its services.")


def _clean_links(links: Any) -> list[dict[str, str]]:
    if links in (None, ""):
        return []
    if not isinstance(links, list):
        raise ServiceError("Links must be a list of {title, url}", field="links")
    check = URLValidator(schemes=["http", "https"])
    cleaned = []
    for link in links:
        if not isinstance(link, dict) or not isinstance(link.get("url"), str):
            raise ServiceError("Each link needs a url (and a title)", field="links")
        try:
            check(link["url"])
        except ValidationError:
            raise ServiceError(f"Not an http(s) URL: {link['url'][:200]}", field="links") from None
        cleaned.append({"title": str(link.get("title") or link["url"])[:200], "url": link["url"]})
    return cleaned


def _clean_tags(tags: Any) -> list[str]:
    if tags in (None, ""):
        return []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ServiceError("Tags must be a list of strings", field="tags")
    return sorted({t.strip()[:50] for t in tags if t.strip()})


def _full_clean(service: Service) -> None:
    try:
        service.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise ServiceError(
            "Invalid service",
            errors={f: [str(m) for m in msgs] for f, msgs in exc.message_dict.items()},
        ) from None


@transaction.atomic
def create_service(
    *,
    actor: Any,
    team: Team,
    name: str,
    slug: str = "",
    description: str = "",
    repository_url: str = "",
    lifecycle: str = Lifecycle.EXPERIMENTAL,
    tier: int = Tier.STANDARD,
    links: list[dict[str, str]] | None = None,
    tags: list[str] | None = None,
) -> Service:
    """Register a service owned by `team`; maintainers of the team (or platform admins) only."""
    _require_maintainer(actor, team)
    slug = slug or slugify(name)[:63]
    if slug in RESERVED_SLUGS:
        raise ServiceError(f"{slug!r} is reserved; choose another slug", field="slug")
    if Service.objects.filter(slug=slug).exists():
        raise Conflict(f"A service named {slug!r} already exists", field="slug")
    service = Service(
        team=team,
        name=name,
        slug=slug,
        description=description,
        repository_url=repository_url,
        lifecycle=lifecycle,
        tier=tier,
        links=_clean_links(links),
        tags=_clean_tags(tags),
    )
    _full_clean(service)
    try:
        with transaction.atomic():
            service.save()
    except IntegrityError:
        raise Conflict(f"A service named {slug!r} already exists", field="slug") from None
    audit.record(AuditAction.SERVICE_CREATED, actor=actor, target=service, details={"name": name})
    return service


@transaction.atomic
def update_service(service: Service, *, actor: Any, **fields: Any) -> Service:
    """Change a service's details; moving it to another team needs maintainer on both."""
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ServiceError(f"Cannot change {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    service = Service.objects.select_for_update().get(pk=service.pk)
    _require_maintainer(actor, service.team)
    if "team" in fields and fields["team"] != service.team:
        _require_maintainer(actor, fields["team"])
    if "links" in fields:
        fields["links"] = _clean_links(fields["links"])
    if "tags" in fields:
        fields["tags"] = _clean_tags(fields["tags"])
    changed = {k: v for k, v in fields.items() if getattr(service, k) != v}
    for key, value in changed.items():
        setattr(service, key, value)
    if changed:
        _full_clean(service)
        service.save(update_fields=[*changed, "updated_at"])
        audit.record(
            AuditAction.SERVICE_UPDATED,
            actor=actor,
            target=service,
            details={"changed": sorted(changed)},
        )
    return service


@transaction.atomic
def archive_service(service: Service, *, actor: Any) -> Service:
    """Archive a service: hidden from lists and new requests; its history stays."""
    service = Service.objects.select_for_update().get(pk=service.pk)
    _require_maintainer(actor, service.team)
    if not service.archived:
        service.archived = True
        service.save(update_fields=["archived", "updated_at"])
        audit.record(AuditAction.SERVICE_ARCHIVED, actor=actor, target=service)
    return service
