"""SCIM lookups, apart from idp.auth.scim: django-scim2's adapters read these classes while
they are being defined, so this module may not import them.

Which users SCIM sees is decided here, once: `scim_managed_users`. Every SCIM answer about
users (list, filter, .search, read, change, delete, group members) goes through it, so an
account outside it is, for SCIM, an account that does not exist."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django_scim.filters import GroupFilterQuery, UserFilterQuery

from idp.choices import PLATFORM_ADMIN_GROUP, SCIM_SERVICE_USER
from idp.models import SERVICE_ACCOUNT_PREFIX, ServiceAccount

SCIM_GROUP_PREFIX = "scim:"

_EQ_FILTER = re.compile(r'^\s*displayName\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)


def never_scim_reason(user: Any) -> str | None:
    """Why SCIM may never manage `user`, marked or not (None: it may): superusers, staff,
    platform admins (who may break glass), service accounts and SCIM's own service user.
    The same rule as `scim_managed_users`, for one user."""
    name = user.get_username()
    if user.is_superuser:
        return "a superuser"
    if user.is_staff:
        return "a staff account"
    if user.groups.filter(name=PLATFORM_ADMIN_GROUP).exists():
        return "a platform admin (who may break glass)"
    if name.startswith(SERVICE_ACCOUNT_PREFIX) or ServiceAccount.objects.filter(user=user).exists():
        return "a service account"
    if name == SCIM_SERVICE_USER:
        return "the SCIM service user"
    return None


def scim_managed_users() -> QuerySet[Any]:
    """The users SCIM may see and change: marked as SCIM's (created by SCIM, or handed to
    it by a platform admin) and not privileged."""
    users = get_user_model().objects.filter(scim_identity__isnull=False)
    return (
        users.exclude(is_superuser=True)
        .exclude(is_staff=True)
        .exclude(groups__name=PLATFORM_ADMIN_GROUP)
        .exclude(service_account__isnull=False)
        .exclude(username__startswith=SERVICE_ACCOUNT_PREFIX)
        .exclude(username=SCIM_SERVICE_USER)
    )


class IdpUserFilterQuery(UserFilterQuery):
    """django-scim2's user filters (`userName eq`, `active eq`, ...), narrowed to the users
    SCIM manages; the answer is ordered by id like an unfiltered list."""

    @classmethod
    def search(cls, filter_query: str, request: Any = None) -> Any:
        found = [user.pk for user in super().search(filter_query, request)]
        users = scim_managed_users().filter(pk__in=found).select_related("scim_identity")
        return list(users.order_by("pk"))


class IdpGroupFilterQuery(GroupFilterQuery):
    """Okta and Entra ID look groups up with `displayName eq "..."`; that is the filter."""

    @classmethod
    def search(cls, filter_query: str, request: Any = None) -> Any:
        match = _EQ_FILTER.match(filter_query or "")
        if match is None:
            raise ValueError('only displayName eq "NAME" is supported for groups')
        name = match.group(1).replace('\\"', '"')
        return list(Group.objects.filter(name=SCIM_GROUP_PREFIX + name))
