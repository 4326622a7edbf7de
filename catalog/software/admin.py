"""Django admin of the software catalog's models: services, scorecard rules and locations (the
models themselves are `catalog.models`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import pluralize

from catalog.models import Location, ScorecardRule, Service
from catalog.sensitivity import redact_credentials
from catalog.services.gitrepo import validate_target
from idp.admin_filters import TeamListFilter, TeamScopedAdminMixin

from .services import components, discovery
from .services.scorecards import RULE_FIELDS, evaluators


def _count(queryset: QuerySet, noun: str) -> str:
    """`1 service`, `3 scans`."""
    count = queryset.count()
    return f"{count} {noun}{pluralize(count)}"


@admin.register(Service)
class ServiceAdmin(TeamScopedAdminMixin, admin.ModelAdmin):
    list_display = ["slug", "name", "team", "lifecycle", "tier", "archived", "updated_at"]
    list_filter = ["lifecycle", "tier", "archived", ("team", TeamListFilter)]
    search_fields = ["slug", "name", "description", "repository_url"]
    list_select_related = ["team"]
    readonly_fields = ["created_at", "updated_at"]
    actions = ["archive"]

    @admin.action(description="Archive")
    def archive(self, request: HttpRequest, queryset: QuerySet[Service]) -> None:
        for service in queryset:
            components.archive_service(service, actor=request.user)
        messages.success(request, f"Archived {_count(queryset, 'service')}.")


# --- Scorecard rules: rules are data; an admin row adds one without code -----------------


def _evaluator_choices() -> list[tuple[str, str]]:
    return [(name, f"{name}: {c.description}") for name, c in sorted(evaluators().items())]


class ScorecardRuleForm(forms.ModelForm):
    evaluator = forms.ChoiceField(choices=_evaluator_choices)

    class Meta:
        model = ScorecardRule
        fields = RULE_FIELDS


@admin.register(ScorecardRule)
class ScorecardRuleAdmin(admin.ModelAdmin):
    form = ScorecardRuleForm
    list_display = ("slug", "title", "level", "evaluator", "enabled")
    list_filter = ("level", "enabled", "evaluator")
    list_editable = ("enabled",)
    search_fields = ("slug", "title")


class LocationForm(forms.ModelForm):
    class Meta:
        model = Location
        fields = ("type", "target", "ref", "team", "enabled")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("type") and data.get("target"):
            # Django admin is for platform admins: local paths are allowed, URLs still checked.
            data["target"], error = validate_target(data["type"], data["target"], admin=True)
            if error:
                self.add_error("target", error)
        return data


@admin.register(Location)
class LocationAdmin(TeamScopedAdminMixin, admin.ModelAdmin):
    form = LocationForm
    list_display = ("id", "type", "_target", "ref", "team", "enabled", "last_scan_at", "_errors")
    list_filter = ("type", "enabled", ("team", TeamListFilter))
    search_fields = ("target",)
    readonly_fields = ("last_scan_at", "last_result", "created_at")
    actions = ["scan_now"]

    @admin.display(description="target", ordering="target")
    def _target(self, obj: Location) -> str:
        return redact_credentials(obj.target)

    @admin.display(description="errors")
    def _errors(self, obj: Location) -> int:
        return int((obj.last_result or {}).get("counts", {}).get("errors", 0))

    @admin.action(description="Scan the selected locations now (queued)")
    def scan_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        for location in queryset:
            discovery.request_scan(location)
        self.message_user(request, f"Queued {_count(queryset, 'scan')}.", messages.SUCCESS)
