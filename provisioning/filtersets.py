"""One FilterSet per list: the portal pages and the API lists share them."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from .choices import ResourceStatus, RunKind, RunStatus
from .models import Resource, Run


class ResourceFilterSet(django_filters.FilterSet):
    """Filter resources by slugs (team, service, environment, template), status and a search."""

    team = django_filters.CharFilter(field_name="team__slug", label="Team")
    service = django_filters.CharFilter(field_name="service__slug", label="Service")
    environment = django_filters.CharFilter(field_name="environment__slug", label="Environment")
    template = django_filters.CharFilter(field_name="template__slug", label="Template")
    status = django_filters.MultipleChoiceFilter(choices=ResourceStatus.choices, label="Status")
    drifted = django_filters.BooleanFilter(label="Drifted")
    q = django_filters.CharFilter(method="search", label="Search")

    class Meta:
        model = Resource
        fields = ["team", "service", "environment", "template", "status", "drifted", "q"]

    def search(self, queryset: QuerySet[Resource], name: str, value: str) -> QuerySet[Resource]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value)
            | Q(template__slug__icontains=value)
            | Q(service__slug__icontains=value)
            | Q(team__slug__icontains=value)
        )


class IdFilter(django_filters.Filter):
    """A database id: a whole number from 1 within bigint range."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class RunFilterSet(django_filters.FilterSet):
    """Filter runs by resource id, status and kind."""

    # A whole, positive id within the database's range: "-4e260" is a 400, not a database error.
    resource = IdFilter(field_name="resource_id", label="Resource")
    status = django_filters.MultipleChoiceFilter(choices=RunStatus.choices, label="Status")
    kind = django_filters.MultipleChoiceFilter(choices=RunKind.choices, label="Kind")
    team = django_filters.CharFilter(field_name="resource__team__slug", label="Team")

    class Meta:
        model = Run
        fields = ["resource", "status", "kind", "team"]
