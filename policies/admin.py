from typing import Any

from django.contrib import admin

from .models import Policy, PolicyResult, PolicyVersion


class PolicyVersionInline(admin.TabularInline):
    model = PolicyVersion
    fields = ("number", "enforcement", "content_hash", "changelog", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    """Policies are code: loaded from their folders, read-only here."""

    list_display = ("slug", "title", "enforcement", "origin", "current_version", "removed")
    list_filter = ("enforcement", "origin", "removed")
    search_fields = ("slug", "title", "package")
    readonly_fields = [f.name for f in Policy._meta.fields]
    inlines = [PolicyVersionInline]

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    list_display = ("policy", "number", "enforcement", "created_at")
    readonly_fields = [f.name for f in PolicyVersion._meta.fields]

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(PolicyResult)
class PolicyResultAdmin(admin.ModelAdmin):
    list_display = ("run", "policy", "level", "enforcement", "address", "created_at")
    list_filter = ("level", "enforcement", "policy")
    readonly_fields = [f.name for f in PolicyResult._meta.fields]

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False
