from __future__ import annotations

import django_filters

from ..models import Template


class TemplateFilter(django_filters.FilterSet):
    category = django_filters.CharFilter(field_name="category")
    owner = django_filters.CharFilter(field_name="owner_team__slug")
    deprecated = django_filters.BooleanFilter(field_name="deprecated")

    class Meta:
        model = Template
        fields = ["category", "owner", "deprecated"]
