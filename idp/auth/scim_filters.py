"""SCIM group lookup, apart from idp.auth.scim: django-scim2's adapters read this class
while they are being defined, so it may not import them."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.models import Group
from django_scim.filters import GroupFilterQuery

SCIM_GROUP_PREFIX = "scim:"

_EQ_FILTER = re.compile(r'^\s*displayName\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)


class IdpGroupFilterQuery(GroupFilterQuery):
    """Okta and Entra ID look groups up with `displayName eq "..."`; that is the filter."""

    @classmethod
    def search(cls, filter_query: str, request: Any = None) -> Any:
        match = _EQ_FILTER.match(filter_query or "")
        if match is None:
            raise ValueError('only displayName eq "NAME" is supported for groups')
        name = match.group(1).replace('\\"', '"')
        return list(Group.objects.filter(name=SCIM_GROUP_PREFIX + name))
