from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from idp.admin_filters import TeamListFilter, TeamScopedAdminMixin
from idp.services import ServiceError

from . import services
from .models import Deployment, Pipeline, PipelineRun, RuntimeBinding, WebhookDelivery


class PipelineRunInline(admin.TabularInline):
    model = PipelineRun
    extra = 0
    can_delete = False
    fields = (
        "github_run_id",
        "run_attempt",
        "environment",
        "status",
        "conclusion",
        "head_sha",
        "actor",
        "duration_seconds",
        "html_url",
    )
    readonly_fields = fields
    ordering = ["-github_run_id"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Pipeline)
class PipelineAdmin(TeamScopedAdminMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "template",
        "repository",
        "delivery_state",
        "pr_number",
        "updated_at",
    ]
    list_filter = ["template", "delivery_state", ("service__team", TeamListFilter)]
    search_fields = ["slug", "service__slug", "repository"]
    readonly_fields = [
        "yaml",
        "findings",
        "warnings",
        "pr_url",
        "pr_number",
        "delivered_sha",
        "last_error",
        "delivered_at",
        "last_event_at",
        "created_by",
    ]
    inlines = [PipelineRunInline]
    actions = ["deliver"]

    @admin.action(description="Deliver selected pipelines to GitHub")
    def deliver(self, request: HttpRequest, queryset: Any) -> None:
        for pipeline in queryset:
            try:
                services.request_delivery(pipeline, actor=request.user)
            except ServiceError as exc:
                self.message_user(request, f"{pipeline}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{pipeline}: delivery queued")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["delivery_id", "event", "repository", "received_at"]
    list_filter = ["event"]
    search_fields = ["delivery_id", "repository"]


@admin.register(Deployment)
class DeploymentAdmin(TeamScopedAdminMixin, admin.ModelAdmin):
    """Deployments are read here; they are made, decided and rolled back through the
    portal, API and CLI (their actions own the rules)."""

    list_display = ["__str__", "status", "kind", "target", "triggered_by", "created_at"]
    list_filter = ["status", "kind", "environment", ("service__team", TeamListFilter)]
    search_fields = ["service__slug", "version", "commit"]
    list_select_related = ["service", "environment", "triggered_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RuntimeBinding)
class RuntimeBindingAdmin(TeamScopedAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "resource", "kind", "created_by", "updated_at"]
    list_filter = ["kind", "environment", ("service__team", TeamListFilter)]
    search_fields = ["service__slug"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
