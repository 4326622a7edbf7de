from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import pluralize

from idp.admin_filters import TeamListFilter

from . import services
from .choices import VersionStatus
from .models import Template, TemplateSource, TemplateVersion
from .sensitivity import redact_credentials
from .services import sources


def _count(queryset: QuerySet, noun: str) -> str:
    """`1 template`, `3 templates`."""
    count = queryset.count()
    return f"{count} {noun}{pluralize(count)}"


class TemplateVersionInline(admin.TabularInline):
    model = TemplateVersion
    fields = ("number", "label", "status", "source_commit", "changelog", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    list_display = [
        "slug",
        "title",
        "category",
        "owner_team",
        "current_version",
        "deprecated",
        "has_sync_error",
        "updated_at",
    ]
    list_filter = ["deprecated", "category", ("owner_team", TeamListFilter)]
    search_fields = ["slug", "title", "description"]
    list_select_related = ["owner_team", "current_version"]
    readonly_fields = [
        "slug",
        "source_path",
        "current_version",
        "sync_error",
        "created_at",
        "updated_at",
    ]
    fields = [
        "slug",
        "title",
        "description",
        "category",
        "owner_team",
        "deprecated",
        "current_version",
        "source_path",
        "sync_error",
        "created_at",
        "updated_at",
    ]
    inlines = [TemplateVersionInline]
    actions = ["deprecate", "undeprecate"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Template]:
        return (
            super().get_queryset(request).defer("current_version__files", "current_version__readme")
        )

    @admin.display(boolean=True, description="Sync error")
    def has_sync_error(self, obj: Template) -> bool:
        return bool(obj.sync_error)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # templates come from the module folders (sync_templates)

    @admin.action(description="Deprecate (hide from new requests)")
    def deprecate(self, request: HttpRequest, queryset: QuerySet[Template]) -> None:
        for template in queryset:
            services.deprecate_template(template, actor=request.user)
        messages.success(request, f"Deprecated {_count(queryset, 'template')}.")

    @admin.action(description="Undeprecate")
    def undeprecate(self, request: HttpRequest, queryset: QuerySet[Template]) -> None:
        for template in queryset:
            services.deprecate_template(template, actor=request.user, deprecated=False)
        messages.success(request, f"Undeprecated {_count(queryset, 'template')}.")


@admin.register(TemplateVersion)
class TemplateVersionAdmin(admin.ModelAdmin):
    """Versions are immutable: resources were planned from exactly these files."""

    list_display = ["template", "number", "label", "status", "source_commit", "created_at"]
    list_filter = ["status", "template"]
    search_fields = ["template__slug", "content_hash", "label"]
    list_select_related = ["template"]
    actions = ["deprecate_versions", "withdraw_versions", "reactivate_versions"]

    def _set_status(self, request: HttpRequest, queryset: QuerySet, status: str) -> None:
        for version in queryset:
            sources.set_version_status(version, status, actor=request.user)
        messages.success(request, f"{_count(queryset, 'version')}: {status}.")

    @admin.action(description="Deprecate (new requests are warned)")
    def deprecate_versions(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_status(request, queryset, VersionStatus.DEPRECATED)

    @admin.action(description="Withdraw (no new requests; resources on it flagged)")
    def withdraw_versions(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_status(request, queryset, VersionStatus.WITHDRAWN)

    @admin.action(description="Reactivate")
    def reactivate_versions(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_status(request, queryset, VersionStatus.ACTIVE)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in TemplateVersion._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TemplateSourceForm(forms.ModelForm):
    """Parses only: `register_source` owns the rules (it is called on add)."""

    webhook_secret = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False), help_text="Write-only"
    )

    class Meta:
        model = TemplateSource
        fields = ["url", "ref_type", "ref_pattern", "paths", "signing_key", "webhook_secret"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk is None and not self.errors:
            from idp.services import ServiceError

            try:
                sources.check_registration(
                    data.get("url", ""),
                    data.get("ref_type", ""),
                    data.get("ref_pattern", ""),
                    data.get("paths") or [],
                    data.get("signing_key", ""),
                    data.get("webhook_secret", ""),
                )
            except ServiceError as exc:
                self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return data


@admin.register(TemplateSource)
class TemplateSourceAdmin(admin.ModelAdmin):
    """Git repositories whose tags are template versions; added through `register_source`."""

    form = TemplateSourceForm
    list_display = ["shown_url", "ref_type", "ref_pattern", "enabled", "sync_state", "last_sync_at"]
    list_filter = ["enabled", "ref_type", "status"]
    readonly_fields = ["sync_state", "error", "last_sync_at", "last_sync_result", "created_at"]
    actions = ["sync_now"]

    @admin.display(description="URL")
    def shown_url(self, obj: TemplateSource) -> str:
        return redact_credentials(obj.url)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["url", "ref_type", "ref_pattern", "paths", "signing_key", "webhook_secret"]
        return ["enabled", *self.readonly_fields]

    def save_model(
        self, request: HttpRequest, obj: TemplateSource, form: Any, change: bool
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data  # checked by the form's clean (check_registration)
        created = sources.register_source(
            request.user,
            data["url"],
            ref_type=data["ref_type"],
            ref_pattern=data["ref_pattern"],
            paths=data.get("paths") or [],
            signing_key=data.get("signing_key") or "",
            webhook_secret=data.get("webhook_secret") or "",
        )
        obj.pk = created.pk

    @admin.action(description="Sync now")
    def sync_now(self, request: HttpRequest, queryset: QuerySet[TemplateSource]) -> None:
        for source in queryset:
            sources.request_sync(source)
        messages.success(request, f"Queued {_count(queryset, 'sync')}.")
