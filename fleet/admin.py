"""Django admin of fleet upgrades: progress and per-resource status, pause/resume/cancel."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from idp.services import ServiceError

from . import actions
from .models import FleetItem, FleetUpgrade


class FleetItemInline(admin.TabularInline):
    model = FleetItem
    fields = (
        "resource",
        "wave",
        "status",
        "group",
        "from_version",
        "plan_run",
        "apply_run",
        "error",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(FleetUpgrade)
class FleetUpgradeAdmin(admin.ModelAdmin):
    list_display = ("id", "template", "target_version", "team", "status", "progress", "created_at")
    list_filter = ("status",)
    list_select_related = ("template", "target_version", "team", "created_by")
    fields = (
        "template",
        "target_version",
        "team",
        "status",
        "pause_reason",
        "selection",
        "waves",
        "current_wave",
        "parallelism",
        "failure_threshold",
        "auto_apply",
        "created_by",
        "created_at",
        "planned_at",
        "finished_at",
    )
    readonly_fields = fields
    inlines = [FleetItemInline]
    actions = ["pause_selected", "resume_selected", "cancel_selected"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[FleetUpgrade]:
        return actions.visible(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # started through the portal, API or CLI

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="progress")
    def progress(self, obj: FleetUpgrade) -> str:
        p = actions.progress(obj)
        return format_html(
            '<progress max="100" value="{}"></progress> {}/{}',
            p["done_percent"],
            p["done"],
            p["total"],
        )

    def _each(self, request: HttpRequest, queryset: QuerySet[FleetUpgrade], verb: str) -> None:
        for fleet in queryset:
            try:
                getattr(actions, verb)(fleet, actor=request.user)
            except ServiceError as error:
                messages.error(request, f"Fleet upgrade {fleet.pk}: {error.message}")
            else:
                messages.success(request, f"Fleet upgrade {fleet.pk}: {verb} done")

    @admin.action(description="Pause selected fleet upgrades")
    def pause_selected(self, request: HttpRequest, queryset: QuerySet[FleetUpgrade]) -> None:
        self._each(request, queryset, "pause")

    @admin.action(description="Resume selected fleet upgrades")
    def resume_selected(self, request: HttpRequest, queryset: QuerySet[FleetUpgrade]) -> None:
        self._each(request, queryset, "resume")

    @admin.action(description="Cancel selected fleet upgrades")
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[FleetUpgrade]) -> None:
        self._each(request, queryset, "cancel")
