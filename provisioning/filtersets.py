"""One FilterSet per list: the portal pages and the API lists share them."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from .choices import ResourceStatus, RunKind, RunStatus
from .models import Resource, Run


class AnyOfField(django_filters.fields.MultipleChoiceField):
    """Choices picked in a form; the "All" option (an empty value) picks none, it is no error."""

    def to_python(self, value: Any) -> list[str]:
        return [v for v in super().to_python(value) if v != ""]


class AnyOfFilter(django_filters.MultipleChoiceFilter):
    field_class = AnyOfField


class ResourceFilterSet(django_filters.FilterSet):
    """Filter resources by slugs (team, service, environment, template), status and a search.

    Archived resources (failed or rejected requests put away) are left out unless
    `archived=true` asks for them, which lists only those. The filterset is always bound,
    even to an empty query: leaving them out is a filter too, and the portal list and the
    API list must agree on it.
    """

    team = django_filters.CharFilter(field_name="team__slug", label="Team")
    service = django_filters.CharFilter(field_name="service__slug", label="Service")
    environment = django_filters.CharFilter(field_name="environment__slug", label="Environment")
    template = django_filters.CharFilter(field_name="template__slug", label="Template")
    status = AnyOfFilter(choices=ResourceStatus.choices, label="Status")
    drifted = django_filters.BooleanFilter(label="Drifted")
    archived = django_filters.BooleanFilter(
        method="filter_archived",
        label="Archived",
        help_text="true: only archived resources; otherwise they are left out",
    )
    q = django_filters.CharFilter(method="search", label="Search")

    class Meta:
        model = Resource
        fields = [
            "team",
            "service",
            "environment",
            "template",
            "status",
            "drifted",
            "archived",
            "q",
        ]

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__({} if data is None else data, *args, **kwargs)

    def filter_queryset(self, queryset: QuerySet[Resource]) -> QuerySet[Resource]:
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("archived"):
            queryset = queryset.filter(archived_at__isnull=True)
        return queryset

    @extend_schema_field(OpenApiTypes.BOOL)
    def filter_archived(
        self, queryset: QuerySet[Resource], name: str, value: bool | None
    ) -> QuerySet[Resource]:
        return queryset.filter(archived_at__isnull=False) if value else queryset

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


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": 2**63 - 1})
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
