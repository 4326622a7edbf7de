"""Visibility and permission checks for team-owned objects.

Permissions are django-guardian object permissions on a Team, granted to the
team's role groups. Every team-owned model inherits them through its path to
the team (`team_field`), so one query decides what a user may see or do:
`Model.objects.for_user(user, perm)`. Views and API handlers never filter by
team themselves.

One object may narrow or widen its team's grants (resource-level permissions):
- *restricted*: every permission above viewing needs, besides the team's grant, a role
  at or above the object's floor (`restricted_role`) or a personal grant
  `operate_<model>` naming the user (platform admins pass);
- *shared*: a grant `view_<model>` or `use_<model>` to another team's role groups lets
  that team see the object (and, with `use`, take it as a dependency), nothing more.
Both are guardian object permissions on the object; `has_object_perm` and `for_user`
decide with them, from the same cached grants as the team permissions.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import IntegerField, Q, Value

from .choices import PLATFORM_ADMIN_GROUP

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    from .models import Team

_M = TypeVar("_M", bound=models.Model)

TEAM_PERMS = ("view_team", "use_team", "maintain_team", "manage_team")

# The role a restricted object's floor names, as the team permission that role holds.
RESTRICTION_FLOORS = {"maintainer": "maintain_team", "admin": "manage_team"}
# How far an object is shared with another team: the codename prefix of the grant.
SHARE_LEVELS = ("view", "use")


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
    """One query for every object permission the user holds, through their groups or in
    person: team permissions by team, shared objects by (object, granting team), and the
    objects naming them personally."""
    from guardian.models import GroupObjectPermission, UserObjectPermission

    from .models import Team

    admin = user.groups.filter(name=PLATFORM_ADMIN_GROUP).exists()
    teams: dict[str, list[int]] = {perm: [] for perm in TEAM_PERMS}
    shared: dict[str, list[list[int]]] = {}
    named: dict[str, list[int]] = {}
    if not admin or teams_of_admin:
        columns = ("content_type_id", "permission__codename", "object_pk")
        rows = (
            GroupObjectPermission.objects.filter(group__user=user)
            .values_list(*columns, "group_id")
            .union(
                UserObjectPermission.objects.filter(user=user).values_list(
                    *columns, Value(0, output_field=IntegerField())
                ),
                all=True,
            )
        )
        team_type = ContentType.objects.get_for_model(Team).pk
        team_of_group: dict[int, int] = {}
        others = []
        for type_id, codename, pk, group in rows:
            if type_id == team_type and codename in TEAM_PERMS:
                teams[codename].append(int(pk))
                team_of_group[group] = int(pk)
            else:
                others.append((type_id, codename, pk, group))
        for type_id, codename, pk, group in others:
            key = f"{ContentType.objects.get_for_id(type_id).app_label}.{codename}"
            if not str(pk).isdigit():
                continue
            if group == 0:
                named.setdefault(key, []).append(int(pk))
            elif group in team_of_group:
                shared.setdefault(key, []).append([int(pk), team_of_group[group]])
    return {
        "admin": admin,
        "teams": {perm: sorted(set(ids)) for perm, ids in teams.items()},
        "shared": shared,
        "named": named,
    }


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
        teams, shared = grants["teams"], grants.get("shared", {})
        if self.team_id is not None:
            teams = {perm: [i for i in ids if i == self.team_id] for perm, ids in teams.items()}
            shared = {
                key: [row for row in rows if row[1] == self.team_id] for key, rows in shared.items()
            }
        return {**grants, "admin": admin, "teams": teams, "shared": shared}


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


def shared_ids(user: Any, model: type[models.Model] | str, level: str = "view") -> list[int]:
    """Ids of the `model` objects another team shared with one of `user`'s teams at `level`
    or above (`use` includes `view`); empty for a platform admin (who sees everything)."""
    if level not in SHARE_LEVELS:
        raise ValueError(f"Unknown share level {level!r}; expected one of {SHARE_LEVELS}")
    if not getattr(user, "is_authenticated", False) or is_platform_admin(user):
        return []
    meta = (apps.get_model(model) if isinstance(model, str) else model)._meta
    levels = SHARE_LEVELS[SHARE_LEVELS.index(level) :]
    shared = _grants(user).get("shared", {})
    return sorted(
        {
            row[0]
            for lv in levels
            for row in shared.get(f"{meta.app_label}.{lv}_{meta.model_name}", [])
        }
    )


def shared_with_team(team: Team, model: type[models.Model], level: str = "view") -> list[int]:
    """Ids of the `model` objects shared with `team` at `level` or above (one query)."""
    from guardian.models import GroupObjectPermission

    from .choices import ROLE_ORDER

    meta = model._meta
    levels = SHARE_LEVELS[SHARE_LEVELS.index(level) :]
    rows = GroupObjectPermission.objects.filter(
        group__name__in=[team.group_name(role) for role in ROLE_ORDER],
        content_type=ContentType.objects.get_for_model(model),
        permission__codename__in=[f"{lv}_{meta.model_name}" for lv in levels],
    ).values_list("object_pk", flat=True)
    return sorted({int(pk) for pk in rows if str(pk).isdigit()})


def named_on(user: Any, obj: models.Model) -> bool:
    """Whether `obj` names `user` personally among those who may operate it when restricted."""
    meta = obj._meta
    key = f"{meta.app_label}.operate_{meta.model_name}"
    return obj.pk in _grants(user).get("named", {}).get(key, [])


def restriction_refusal(user: Any, obj: Any) -> str | None:
    """Why `user` may not act on the restricted `obj` beyond viewing it (None: they may,
    or it is not restricted). The team's own grant is checked apart (`has_object_perm`)."""
    if not getattr(obj, "restricted", False) or is_platform_admin(user):
        return None
    floor = RESTRICTION_FLOORS.get(getattr(obj, "restricted_role", ""))
    if floor is not None and has_team_perm(user, obj.team, floor):
        return None
    if named_on(user, obj):
        return None
    role = getattr(obj, "restricted_role", "")
    who = f"{role}s of {obj.team.slug} and the people it names" if floor else "the people it names"
    return f"{obj} is restricted: only {who} (or a platform admin) may act on it"


def has_object_perm(user: Any, obj: Any, perm: str) -> bool:
    """Whether `user` holds the team permission `perm` on `obj` (a team-owned object with a
    `team`): its team's grant, narrowed by the object's restriction above viewing, and
    widened to viewing where the object is shared with one of the user's teams."""
    _check_perm(perm)
    if not getattr(user, "is_authenticated", False):
        return False
    if not has_team_perm(user, obj.team, perm):
        return perm == "view_team" and obj.pk in shared_ids(user, type(obj))
    return perm == "view_team" or restriction_refusal(user, obj) is None


class TeamOwnedQuerySet(models.QuerySet[_M]):
    """The queryset of every team-owned model; `team_field` on the model names its team path."""

    def _team_lookup(self) -> str:
        field = getattr(self.model, "team_field", "team")
        return "pk" if field == "id" else f"{field}_id" if "__" not in field else f"{field}__pk"

    def for_user(self, user: Any, perm: str = "view_team") -> TeamOwnedQuerySet[_M]:
        """Only the objects whose team grants `user` the permission `perm`, and, for
        viewing, those shared with one of the user's teams (`shared_through` on the model:
        the shared model and the path to its id). Restrictions are not applied here: a
        restricted object stays visible; `restricted_for` and `has_object_perm` narrow."""
        ids = team_ids(user, perm)
        if ids is None:
            return self.all()
        where = Q(**{f"{self._team_lookup()}__in": ids})
        through = getattr(self.model, "shared_through", None)
        if through is not None and perm == "view_team":
            shared = shared_ids(user, through[0])
            if shared:
                where |= Q(**{f"{through[1]}__in": shared})
        return self.filter(where)

    def operable_by(self, user: Any, perm: str) -> TeamOwnedQuerySet[_M]:
        """`for_user(user, perm)` without the restricted objects `user` may not operate
        (the model's `restriction_path` leads to the object carrying the restriction)."""
        visible = self.for_user(user, perm)
        path = getattr(self.model, "restriction_path", None)
        if path is None or is_platform_admin(user):
            return visible
        prefix = f"{path}__" if path else ""
        target: Any = self.model if not path else self.model._meta.get_field(path).related_model
        meta = target._meta
        named = (
            _grants(user).get("named", {}).get(f"{meta.app_label}.operate_{meta.model_name}", [])
        )
        allowed = Q(**{f"{prefix}restricted": False}) | Q(**{f"{prefix}pk__in": named})
        for role, floor in RESTRICTION_FLOORS.items():
            ids = team_ids(user, floor) or []
            if ids:
                allowed |= Q(**{f"{prefix}restricted_role": role, f"{prefix}team_id__in": ids})
        return visible.filter(allowed)
