from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from idp.admin_filters import TeamListFilter, TeamScopedAdminMixin
from idp.services import ServiceError

from .models import (
    AlarmEvent,
    AlarmState,
    Alert,
    AlertChannel,
    Budget,
    Collection,
    CostAccuracy,
    CostRecord,
    LogShipment,
    MetricSample,
    Price,
    PriceCatalog,
    ServiceDashboard,
    TeamTopic,
)
from .services import budgets, sns
from .services.budgets import clean_amount, clean_thresholds


class BudgetAdminForm(forms.ModelForm):
    """The service's own checks, so bad input is shown by the field instead of failing."""

    class Meta:
        model = Budget
        fields = ["team", "monthly_amount", "thresholds"]  # the service keeps the currency

    def clean_monthly_amount(self) -> Any:
        try:
            return clean_amount(self.cleaned_data["monthly_amount"])
        except ServiceError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_thresholds(self) -> Any:
        try:
            return clean_thresholds(self.cleaned_data["thresholds"])
        except ServiceError as exc:
            raise forms.ValidationError(exc.message) from None


@admin.register(Budget)
class BudgetAdmin(TeamScopedAdminMixin, admin.ModelAdmin):
    form = BudgetAdminForm
    list_display = ["team", "monthly_amount", "currency", "aws_synced_at", "aws_sync_error"]
    list_filter = [("team", TeamListFilter)]
    search_fields = ["team__slug"]
    readonly_fields = ["currency", "aws_budget_name", "aws_synced_at", "aws_sync_error"]
    actions = ["mirror_to_aws", "evaluate_now"]

    def get_readonly_fields(self, request: HttpRequest, obj: Budget | None = None) -> Any:
        # A budget belongs to its team: moving it would leave the service's one-per-team rule.
        return [*self.readonly_fields, "team"] if obj else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Budget, form: Any, change: bool) -> None:
        # Through the service, so the audit log, cache and AWS mirror follow.
        saved = budgets.save_budget(
            obj.team,
            monthly_amount=obj.monthly_amount,
            thresholds=obj.thresholds,
            actor=request.user,
        )
        obj.pk = saved.pk  # the admin's links and "save and continue" go to the saved row

    def delete_model(self, request: HttpRequest, obj: Budget) -> None:
        budgets.delete_budget(obj, actor=request.user)

    @admin.action(description="Mirror to AWS Budgets now")
    def mirror_to_aws(self, request: HttpRequest, queryset: QuerySet[Budget]) -> None:
        ok = sum(bool(budgets.mirror_budget(b.pk)) for b in queryset)
        self.message_user(request, f"{ok} of {queryset.count()} budgets mirrored.", messages.INFO)

    @admin.action(description="Check thresholds now")
    def evaluate_now(self, request: HttpRequest, queryset: QuerySet[Budget]) -> None:
        raised = [a for b in queryset for a in budgets.evaluate_budget(b)]
        self.message_user(request, f"{len(raised)} alerts raised.", messages.INFO)


@admin.register(Alert)
class AlertAdmin(TeamScopedAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "team", "threshold", "kind", "period", "amount", "budget_amount"]
    list_filter = ["kind", "period", ("team", TeamListFilter)]
    search_fields = ["team__slug", "message"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CostRecord)
class CostRecordAdmin(TeamScopedAdminMixin, admin.ModelAdmin):
    list_display = ["date", "team", "service_slug", "environment_slug", "amount", "estimated"]
    list_filter = ["environment_slug", "estimated", ("team", TeamListFilter)]
    search_fields = ["team__slug", "service_slug"]
    date_hierarchy = "date"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class PriceInline(admin.TabularInline):
    model = Price
    fields = ("resource_type", "component", "variant", "usd", "unit", "refreshed")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PriceCatalog)
class PriceCatalogAdmin(admin.ModelAdmin):
    """Catalog versions, read only: the shipped file and `refresh_prices` make them."""

    list_display = ["region", "source_date", "source", "currency", "created_at"]
    list_filter = ["region"]
    readonly_fields = ["region", "currency", "source", "source_date", "assumptions", "created_at"]
    inlines = [PriceInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CostAccuracy)
class CostAccuracyAdmin(TeamScopedAdminMixin, admin.ModelAdmin):
    list_display = ["month", "resource", "team", "template_slug", "estimated", "actual"]
    list_filter = ["template_slug", "environment_slug", ("team", TeamListFilter)]
    raw_id_fields = ["resource"]
    date_hierarchy = "month"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(MetricSample)
class MetricSampleAdmin(TeamScopedAdminMixin, admin.ModelAdmin):
    list_display = ["timestamp", "resource", "metric", "statistic", "value", "unit"]
    list_filter = ["resource_type", "metric", ("resource__team", TeamListFilter)]
    raw_id_fields = ["resource"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AlarmState)
class AlarmStateAdmin(TeamScopedAdminMixin, admin.ModelAdmin):
    list_display = ["alarm_name", "resource", "metric", "state", "deleted", "updated_at"]
    list_filter = ["state", "deleted", ("resource__team", TeamListFilter)]
    raw_id_fields = ["resource"]


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["started_at", "kind", "status", "stored", "finished_at"]
    list_filter = ["kind", "status"]
    readonly_fields = ["kind", "status", "stored", "errors", "started_at", "finished_at"]


@admin.register(AlertChannel)
class AlertChannelAdmin(TeamScopedAdminMixin, admin.ModelAdmin):
    """A team's alarm endpoints; saving one subscribes it to the team's SNS topics."""

    list_display = ["team", "kind", "created_at"]
    list_filter = ["kind", ("team", TeamListFilter)]
    fields = ["team", "kind", "endpoint"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        try:
            channel = sns.add_channel(obj.team, obj.kind, obj.endpoint, actor=request.user)
        except ServiceError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        except Exception as exc:  # noqa: BLE001 - SNS down: the channel is kept, re-subscribed later
            obj.save()
            self.message_user(request, f"Saved; SNS not reached: {exc}", messages.WARNING)
            return
        obj.pk = channel.pk

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        sns.remove_channel(obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for channel in queryset:
            sns.remove_channel(channel, actor=request.user)


@admin.register(TeamTopic)
class TeamTopicAdmin(TeamScopedAdminMixin, admin.ModelAdmin):
    list_display = ["topic_arn", "team", "environment", "updated_at"]
    list_filter = [("team", TeamListFilter), "environment"]
    readonly_fields = ["team", "environment", "topic_arn", "subscriptions", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AlarmEvent)
class AlarmEventAdmin(TeamScopedAdminMixin, admin.ModelAdmin):
    list_display = [
        "occurred_at",
        "team",
        "alarm_name",
        "old_state",
        "new_state",
        "acknowledged_at",
    ]
    list_filter = ["new_state", ("team", TeamListFilter)]
    search_fields = ["alarm_name"]
    raw_id_fields = ["resource", "alarm", "acknowledged_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LogShipment)
class LogShipmentAdmin(TeamScopedAdminMixin, admin.ModelAdmin):
    list_display = ["run", "log_group", "log_stream", "events", "complete", "updated_at"]
    list_filter = ["complete"]
    raw_id_fields = ["run"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ServiceDashboard)
class ServiceDashboardAdmin(TeamScopedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "service", "environment", "resources", "widgets", "synced_at"]
    list_filter = ["deleted", "environment"]
    readonly_fields = ["name", "widgets", "resources", "deleted", "error", "synced_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
