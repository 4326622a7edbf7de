"""Visibility and permission checks for team-owned objects.

Permissions are django-guardian object permissions on a Team, granted to the
team's role groups. Every team-owned model inherits them through its path to
the team (`team_field`), so one query decides what a user may see or do:
`Model.objects.for_user(user, perm)`. Views and API handlers never filter by
team themselves.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import models, transaction

from .choices import PLATFORM_ADMIN_GROUP

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    from .models import Team

_M = TypeVar("_M", bound=models.Model)

TEAM_PERMS = ("view_team", "use_team", "maintain_team", "manage_team")


# Grants (platform admin or not, team ids per permission) are read once per request and, when
# the cache is shared between processes (Redis), kept across requests under a version token
# that every membership or permission change replaces after its transaction commits.
GRANTS_TTL = 60
GRANTS_VERSION_KEY = "idp:rbac:version"


def shared_cache() -> Any:
    """The default cache when every web and worker process sees it, else None."""
    from django.core.cache import caches
    from django.core.cache.backends.dummy import DummyCache
    from django.core.cache.backends.locmem import LocMemCache

    cache = caches["default"]
    return None if isinstance(cache, LocMemCache | DummyCache) else cache


def _load_grants(user: Any, *, teams_of_admin: bool = False) -> dict[str, Any]:
    from guardian.models import GroupObjectPermission

    from .models import Team

    admin = user.groups.filter(name=PLATFORM_ADMIN_GROUP).exists()
    teams: dict[str, list[int]] = {perm: [] for perm in TEAM_PERMS}
    if not admin or teams_of_admin:
        rows = GroupObjectPermission.objects.filter(
            group__user=user,
            permission__codename__in=TEAM_PERMS,
            content_type=ContentType.objects.get_for_model(Team),
        ).values_list("permission__codename", "object_pk")
        for codename, pk in rows:
            teams[codename].append(int(pk))
    return {"admin": admin, "teams": {perm: sorted(set(ids)) for perm, ids in teams.items()}}


def _grants(user: Any) -> dict[str, Any]:
    """What a signed-in user may see: cached on the user object, then in the shared cache."""
    grants: dict[str, Any] | None = user.__dict__.get("_idp_grants")
    if grants is not None:
        return grants
    cache = shared_cache()
    key = f"idp:rbac:user:{user.pk}"
    version = None
    if cache is not None:
        # With Redis down these read as misses (django-redis IGNORE_EXCEPTIONS): no version,
        # so the grants come from the database and are not kept.
        found = cache.get_many([GRANTS_VERSION_KEY, key])
        version = found.get(GRANTS_VERSION_KEY)
        if version is None:
            cache.add(GRANTS_VERSION_KEY, secrets.token_hex(8), None)
            version = cache.get(GRANTS_VERSION_KEY)
        entry = found.get(key)
        if entry is not None and entry.get("version") == version:
            grants = entry
    if grants is None:
        grants = _load_grants(user)
        if cache is not None and version is not None:
            cache.set(key, {**grants, "version": version}, GRANTS_TTL)
    narrowing: Narrowing | None = user.__dict__.get("_idp_narrowing")
    if narrowing is not None:
        grants = narrowing.apply(user, grants)
    user.__dict__["_idp_grants"] = grants
    return grants


@dataclass(frozen=True)
class Narrowing:
    """What an API token leaves of its user's grants for one request: its team only (when
    the token is limited to one), and platform-admin powers only with the admin scope."""

    team_id: int | None
    platform_admin: bool

    @property
    def allows_admin(self) -> bool:
        return self.platform_admin and self.team_id is None

    def apply(self, user: Any, grants: dict[str, Any]) -> dict[str, Any]:
        admin = bool(grants["admin"]) and self.allows_admin
        if grants["admin"] and not admin:
            # An admin's grants list no teams (they see all): load the teams they hold.
            grants = _load_grants(user, teams_of_admin=True)
        teams = grants["teams"]
        if self.team_id is not None:
            teams = {perm: [i for i in ids if i == self.team_id] for perm, ids in teams.items()}
        return {"admin": admin, "teams": teams}


def narrow_to_token(user: Any, *, team_id: int | None, platform_admin: bool) -> None:
    """Make `user` (the request's user object) see and do only what its token allows; every
    check below (is_platform_admin, team_ids, has_team_perm, for_user) follows."""
    user.__dict__["_idp_narrowing"] = Narrowing(team_id=team_id, platform_admin=platform_admin)
    user.__dict__.pop("_idp_grants", None)


def permissions_changed() -> None:
    """Invalidate every cached grant once the current transaction commits (a write lost to
    a Redis outage leaves them to expire within GRANTS_TTL)."""
    cache = shared_cache()
    if cache is not None:
        transaction.on_commit(lambda: cache.set(GRANTS_VERSION_KEY, secrets.token_hex(8), None))


def is_platform_admin(user: Any) -> bool:
    """Superusers and members of the platform-admin group see and do everything."""
    if not getattr(user, "is_authenticated", False):
        return False
    narrowing: Narrowing | None = user.__dict__.get("_idp_narrowing")
    if user.is_superuser and (narrowing is None or narrowing.allows_admin):
        return True
    return bool(_grants(user)["admin"])


def signed_in_user(user: User | AnonymousUser) -> User:
    """The user of a view behind login_required or IsAuthenticated, typed as a User."""
    if not user.is_authenticated:
        raise PermissionDenied("Sign in first.")
    return user


def _check_perm(perm: str) -> str:
    if perm not in TEAM_PERMS:
        raise ValueError(f"Unknown team permission {perm!r}; expected one of {TEAM_PERMS}")
    return perm


def team_ids(user: Any, perm: str = "view_team") -> list[int] | None:
    """Ids of the teams where `user` holds `perm`; None means every team.

    Filtering on a short list of ids lets the database use the team indexes, where a
    subquery made PostgreSQL join and sort every row of a 100k-row table.
    """
    _check_perm(perm)
    if is_platform_admin(user):
        return None
    if not getattr(user, "is_authenticated", False):
        return []
    return list(_grants(user)["teams"][perm])


def forget_permissions(user: Any) -> None:
    """Drop the grants held on this user object after their memberships change (the shared
    cache is invalidated by the signals of the change itself, idp/signals.py)."""
    user.__dict__.pop("_idp_grants", None)


def has_team_perm(user: Any, team: Team | None, perm: str) -> bool:
    """Whether `user` holds `perm` on `team`."""
    _check_perm(perm)
    if team is None or not getattr(user, "is_authenticated", False):
        return False
    if is_platform_admin(user):
        return True
    return team.pk in _grants(user)["teams"][perm]


class TeamOwnedQuerySet(models.QuerySet[_M]):
    """The queryset of every team-owned model; `team_field` on the model names its team path."""

    def _team_lookup(self) -> str:
        field = getattr(self.model, "team_field", "team")
        return "pk" if field == "id" else f"{field}_id" if "__" not in field else f"{field}__pk"

    def for_user(self, user: Any, perm: str = "view_team") -> TeamOwnedQuerySet[_M]:
        """Only the objects whose team grants `user` the permission `perm`."""
        ids = team_ids(user, perm)
        if ids is None:
            return self.all()
        return self.filter(**{f"{self._team_lookup()}__in": ids})
