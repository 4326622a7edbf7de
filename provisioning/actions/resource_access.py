"""Resource-level permissions: a team admin restricts one resource to named people or a
role floor, and shares it read-only (`read`) or as a dependency (`use`) with other teams.

The grants are django-guardian object permissions on the resource (`operate_resource` to
each named person, `view_resource` / `use_resource` to every role group of a team it is
shared with) plus the resource's `restricted` and `restricted_role`; `idp.rbac` decides
with them on every surface. Every change is audited with what it was and what it became.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import F, Value
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import assign_perm

from idp import audit
from idp.actors import Person
from idp.choices import ROLE_ORDER
from idp.models import Team
from idp.rbac import RESTRICTION_FLOORS, has_team_perm, is_platform_admin
from idp.services import Forbidden, ServiceError

from ..choices import AuditAction
from ..models import Resource
from .changes import locked

# The API's words for a share, and the grant each one is.
SHARE_LEVELS = {"read": "view_resource", "use": "use_resource"}
NAMED = "operate_resource"


@dataclass(frozen=True)
class Restriction:
    role: str | None  # "maintainer" or "admin": that role and above may act; None: nobody
    users: list[str] = field(default_factory=list)  # usernames named personally


@dataclass(frozen=True)
class Share:
    team: str  # the team's slug
    level: str  # "read" or "use"


@dataclass(frozen=True)
class Access:
    """Who may act on a resource beyond its team's roles, and who else may see it."""

    restricted_to: Restriction | None
    shared_with: list[Share]

    def as_json(self) -> dict[str, Any]:
        restricted = self.restricted_to
        return {
            "restricted_to": (
                None
                if restricted is None
                else {"role": restricted.role, "users": list(restricted.users)}
            ),
            "shared_with": [{"team": s.team, "level": s.level} for s in self.shared_with],
        }

    @property
    def summary(self) -> str:
        """One line for pages and the CLI."""
        parts = []
        if self.restricted_to is not None:
            who = [f"{self.restricted_to.role}s and above"] if self.restricted_to.role else []
            who += self.restricted_to.users
            parts.append(f"restricted to {', '.join(who) or 'platform admins'}")
        if self.shared_with:
            shares = ", ".join(f"{s.team} ({s.level})" for s in self.shared_with)
            parts.append(f"shared with {shares}")
        return "; ".join(parts) or "the team's roles"


def access_of(resource: Resource) -> Access:
    """The resource's restriction and shares, in one query."""
    kind = ContentType.objects.get_for_model(Resource)
    where = {"content_type": kind, "object_pk": str(resource.pk)}
    named = UserObjectPermission.objects.filter(**where, permission__codename=NAMED).values_list(
        Value("user"), F("user__username")
    )
    groups = GroupObjectPermission.objects.filter(
        **where, permission__codename__in=SHARE_LEVELS.values()
    ).values_list(F("permission__codename"), F("group__name"))
    users: list[str] = []
    shares: dict[str, str] = {}
    levels = {codename: level for level, codename in SHARE_LEVELS.items()}
    for kind_of, name in named.union(groups, all=True):
        if kind_of == "user":
            users.append(name)
            continue
        slug = Team.slug_of_group(name)
        if slug is not None and (kind_of == "use_resource" or slug not in shares):
            shares[slug] = levels[kind_of]
    restriction = (
        Restriction(role=resource.restricted_role or None, users=sorted(users))
        if resource.restricted
        else None
    )
    return Access(
        restricted_to=restriction,
        shared_with=[Share(team=t, level=shares[t]) for t in sorted(shares)],
    )


def access_seen_by(resource: Resource, user: Person) -> Access:
    """`access_of` as `user` may read it: a member of another team (the resource is shared
    with theirs) sees that it is restricted and to which role, not who is named, and only
    the shares to their own teams: nothing else of the owner's."""
    access = access_of(resource)
    if has_team_perm(user, resource.team, "view_team"):
        return access
    theirs = set(Team.objects.for_user(user).values_list("slug", flat=True))
    restricted = access.restricted_to
    return Access(
        restricted_to=None if restricted is None else Restriction(role=restricted.role),
        shared_with=[s for s in access.shared_with if s.team in theirs],
    )


def access_refusal(resource: Resource, user: Person) -> Forbidden | None:
    """Why `user` may not change who may act on or see the resource (team admins and
    platform admins may)."""
    if is_platform_admin(user) or has_team_perm(user, resource.team, "manage_team"):
        return None
    return Forbidden(
        f"Only admins of {resource.team.slug} (or a platform admin) change who may act on "
        "or see its resources"
    )


def _restriction(resource: Resource, value: Any) -> tuple[str, list[Any]] | None:
    """The parsed `restricted_to`: (role floor, users), or None for no restriction."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ServiceError(
            'Give {"role": "maintainer"|"admin"|null, "users": [...]} or null',
            field="restricted_to",
        )
    role = value.get("role") or ""
    if role not in ("", *RESTRICTION_FLOORS):
        raise ServiceError(
            f"Unknown role {role!r}: choose {' or '.join(RESTRICTION_FLOORS)} (or none for "
            "named people only)",
            field="restricted_to.role",
        )
    names = value.get("users") or []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ServiceError("A list of usernames", field="restricted_to.users")
    names = sorted({n.strip() for n in names if n.strip()})
    users = list(get_user_model().objects.filter(username__in=names))
    found = {u.username for u in users}
    unknown = [n for n in names if n not in found]
    if unknown:
        raise ServiceError(f"Unknown user {unknown[0]!r}", field="restricted_to.users")
    for user in users:
        if not has_team_perm(user, resource.team, "use_team"):
            raise ServiceError(
                f"{user.username} is not a member of {resource.team.slug}: only its members "
                "can be named",
                field="restricted_to.users",
            )
    if not role and not users:
        raise ServiceError(
            "Name at least one person or a role: a restriction nobody passes locks the team "
            "out (platform admins aside)",
            field="restricted_to",
        )
    return role, users


def _shares(resource: Resource, value: Any) -> dict[Team, str]:
    if value is None:
        return {}
    if not isinstance(value, list):
        raise ServiceError('A list of {"team": slug, "level": "read"|"use"}', field="shared_with")
    wanted: dict[str, str] = {}
    for entry in value:
        if not isinstance(entry, dict) or not isinstance(entry.get("team"), str):
            raise ServiceError(
                'Each share is {"team": slug, "level": "read"|"use"}', field="shared_with"
            )
        level = entry.get("level") or "read"
        if level not in SHARE_LEVELS:
            raise ServiceError(
                f"Unknown level {level!r}: choose read or use", field="shared_with.level"
            )
        wanted[entry["team"].strip()] = level
    teams = {t.slug: t for t in Team.objects.filter(slug__in=wanted)}
    for slug in wanted:
        if slug not in teams:
            raise ServiceError(f"Unknown team {slug!r}", field="shared_with.team")
        if slug == resource.team.slug:
            raise ServiceError(
                f"{slug} owns the resource: share it with another team", field="shared_with.team"
            )
    return {teams[slug]: level for slug, level in wanted.items()}


@transaction.atomic
def set_access(
    resource: Resource, *, actor: Person, restricted_to: Any, shared_with: Any
) -> Access:
    """Replace the resource's restriction and shares with the ones given (the API's PUT and
    the portal's form); the same answer as `access_of` afterwards."""
    refusal = access_refusal(resource, actor)
    if refusal is not None:
        raise refusal
    restriction = _restriction(resource, restricted_to)
    shares = _shares(resource, shared_with)
    resource = locked(resource)
    before = access_of(resource)
    kind = ContentType.objects.get_for_model(Resource)
    where = {"content_type": kind, "object_pk": str(resource.pk)}
    UserObjectPermission.objects.filter(**where, permission__codename=NAMED).delete()
    GroupObjectPermission.objects.filter(
        **where, permission__codename__in=SHARE_LEVELS.values()
    ).delete()
    if restriction is not None:
        for user in restriction[1]:
            assign_perm(f"provisioning.{NAMED}", user, resource)
    for team, level in shares.items():
        for role in ROLE_ORDER:
            group = team.role_group(role)
            assign_perm("provisioning.view_resource", group, resource)
            if level == "use":
                assign_perm("provisioning.use_resource", group, resource)
    resource.restricted = restriction is not None
    resource.restricted_role = restriction[0] if restriction is not None else ""
    resource.save(update_fields=["restricted", "restricted_role", "updated_at"])
    after = access_of(resource)
    if after != before:
        audit.record(
            AuditAction.ACCESS_CHANGED,
            actor=actor,
            target=resource,
            details={"before": before.as_json(), "after": after.as_json()},
        )
    return after


def restrict(resource: Resource, *, actor: Person, role: str | None, users: list[str]) -> Access:
    """Restrict the resource, keeping its shares."""
    current = access_of(resource)
    return set_access(
        resource,
        actor=actor,
        restricted_to={"role": role, "users": users},
        shared_with=[{"team": s.team, "level": s.level} for s in current.shared_with],
    )


def share(resource: Resource, *, actor: Person, team: str, level: str) -> Access:
    """Share the resource with one more team (or change that team's level)."""
    current = access_of(resource)
    shares = [{"team": s.team, "level": s.level} for s in current.shared_with if s.team != team]
    return set_access(
        resource,
        actor=actor,
        restricted_to=current.as_json()["restricted_to"],
        shared_with=[*shares, {"team": team, "level": level}],
    )
