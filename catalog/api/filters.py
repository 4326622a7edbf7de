from __future__ import annotations

import django_filters

from ..choices import Lifecycle, Tier
from ..models import Service, Template


class TemplateFilter(django_filters.FilterSet):
    category = django_filters.CharFilter(field_name="category")
    owner = django_filters.CharFilter(field_name="owner_team__slug")
    deprecated = django_filters.BooleanFilter(field_name="deprecated")

    class Meta:
        model = Template
        fields = ["category", "owner", "deprecated"]


class ServiceFilter(django_filters.FilterSet):
    team = django_filters.CharFilter(field_name="team__slug")
    lifecycle = django_filters.ChoiceFilter(choices=Lifecycle.choices)
    archived = django_filters.BooleanFilter(field_name="archived")
    tier = django_filters.TypedChoiceFilter(choices=Tier.choices, coerce=int)

    class Meta:
        model = Service
        fields = ["team", "lifecycle", "archived", "tier"]
