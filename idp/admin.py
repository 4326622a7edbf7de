from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from guardian.admin import GuardedModelAdmin

from . import services
from .models import APIToken, AuditEvent, Environment, Membership, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["created_at"]


@admin.register(Team)
class TeamAdmin(GuardedModelAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name", "description"]
    list_filter = ["created_at"]
    readonly_fields = ["created_at"]

    def save_model(self, request: HttpRequest, obj: Team, form: Any, change: bool) -> None:
        if change:
            services.update_team(
                Team.objects.get(pk=obj.pk),
                actor=request.user,
                **{f: getattr(obj, f) for f in form.changed_data},
            )
        else:
            created = services.create_team(
                obj.slug, name=obj.name, description=obj.description, actor=request.user
            )
            obj.pk = created.pk


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["team", "user", "role", "created_at"]
    list_filter = ["role", "team"]
    search_fields = ["team__slug", "user__username", "user__email"]
    autocomplete_fields = ["user", "team"]

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        membership = services.set_membership(obj.team, obj.user, obj.role, actor=request.user)
        obj.pk = membership.pk

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        services.remove_membership(obj.team, obj.user, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for membership in queryset.select_related("team", "user"):
            services.remove_membership(membership.team, membership.user, actor=request.user)


@admin.register(Environment)
class EnvironmentAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "aws_region", "aws_account_id", "requires_approval", "allows_ttl", "order"]
    list_filter = ["requires_approval", "allows_ttl", "is_production", "aws_region"]
    search_fields = ["slug", "name", "aws_account_id"]


@admin.register(APIToken)
class APITokenAdmin(admin.ModelAdmin):
    list_display = ["key_prefix", "name", "user", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at", "created_at"]
    search_fields = ["user__username", "name", "key_prefix"]
    readonly_fields = ["user", "name", "key_prefix", "key_hash", "created_at", "last_used_at"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tokens are created by their owner, shown once

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        for token in queryset:
            services.revoke_api_token(token, actor=request.user)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor_name", "action", "target_type", "target_repr", "team", "ip_address"]
    list_filter = ["action", "target_type", "team", "created_at"]
    search_fields = ["action", "actor_name", "target_repr", "target_id", "request_id"]
    date_hierarchy = "created_at"
    list_select_related = ["team"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
