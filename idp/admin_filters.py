"""Admin pieces that keep a staff member to their own teams (platform admins see all).

`TeamListFilter` is the "By team" list filter: use it as `("team", TeamListFilter)` or with
a path, `("service__team", TeamListFilter)`. `TeamScopedAdminMixin` narrows a changelist
and the team choices of its forms with `for_user`, the one rule of visibility.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Team

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise  # django-stubs, a dev dependency


class TeamListFilter(admin.RelatedFieldListFilter):
    """A related-field filter on a team whose choices are the teams the user may see."""

    def field_choices(
        self, field: Any, request: HttpRequest, model_admin: Any
    ) -> list[tuple[str, str | StrPromise]]:
        return [(str(team.pk), str(team)) for team in Team.objects.for_user(request.user)]


class TeamScopedAdminMixin:
    """Changelists and related-object choices narrowed to the user's teams.

    The model's default manager must be a `TeamOwnedQuerySet` (it has `for_user`).
    """

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).for_user(request.user)  # type: ignore[misc]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        related = db_field.related_model._default_manager
        if "queryset" not in kwargs and hasattr(related, "for_user"):
            kwargs["queryset"] = related.for_user(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]
