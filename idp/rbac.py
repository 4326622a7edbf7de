"""Visibility and permission checks for team-owned objects.

Permissions are django-guardian object permissions on a Team, granted to the
team's role groups. Every team-owned model inherits them through its path to
the team (`team_field`), so one query decides what a user may see or do:
`Model.objects.for_user(user, perm)`. Views and API handlers never filter by
team themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import models

from .choices import PLATFORM_ADMIN_GROUP

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    from .models import Team

_M = TypeVar("_M", bound=models.Model)

TEAM_PERMS = ("view_team", "use_team", "maintain_team", "manage_team")


def is_platform_admin(user: Any) -> bool:
    """Superusers and members of the platform-admin group see and do everything."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_idp_platform_admin", None)
    if cached is None:
        cached = user.groups.filter(name=PLATFORM_ADMIN_GROUP).exists()
        user._idp_platform_admin = cached
    return bool(cached)


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

    Evaluated once (and cached on the user object for the request): filtering on a short
    list of ids lets the database use the team indexes, where a subquery made PostgreSQL
    join and sort every row of a 100k-row table.
    """
    from guardian.models import GroupObjectPermission

    from .models import Team

    _check_perm(perm)
    if is_platform_admin(user):
        return None
    if not getattr(user, "is_authenticated", False):
        return []
    cache: dict[str, list[int]] = user.__dict__.setdefault("_idp_team_ids_cache", {})
    if perm not in cache:
        cache[perm] = sorted(
            int(pk)
            for pk in GroupObjectPermission.objects.filter(
                group__user=user,
                permission__codename=perm,
                content_type=ContentType.objects.get_for_model(Team),
            ).values_list("object_pk", flat=True)
        )
    return cache[perm]


def forget_permissions(user: Any) -> None:
    """Drop the permissions cached on a user object after their memberships change."""
    for key in ("_idp_team_ids_cache", "_idp_team_perm_cache", "_idp_platform_admin"):
        user.__dict__.pop(key, None)


def has_team_perm(user: Any, team: Team | None, perm: str) -> bool:
    """Whether `user` holds `perm` on `team` (cached on the user object per request)."""
    from guardian.models import GroupObjectPermission

    from .models import Team

    _check_perm(perm)
    if team is None or not getattr(user, "is_authenticated", False):
        return False
    if is_platform_admin(user):
        return True
    cache: dict[tuple[int, str], bool] = user.__dict__.setdefault("_idp_team_perm_cache", {})
    key = (team.pk, perm)
    if key not in cache:
        cache[key] = GroupObjectPermission.objects.filter(
            group__user=user,
            permission__codename=perm,
            content_type=ContentType.objects.get_for_model(Team),
            object_pk=str(team.pk),
        ).exists()
    return cache[key]


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
