"""Django admin for platform admins: every write goes through the services, so it is audited."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import models, transaction
from django.http import HttpRequest
from guardian.admin import GuardedModelAdmin

from . import service_accounts, services
from .models import (
    APIToken,
    AuditEvent,
    Environment,
    Membership,
    SCIMIdentity,
    ServiceAccount,
    SSOGroupMapping,
    Team,
    WorkloadIdentityBinding,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["source", "sso_group", "created_at"]


def _adopt(obj: Any, saved: Any) -> None:
    """Make the admin's unsaved instance stand for the row a service created."""
    obj.pk = saved.pk
    obj.__dict__.update({k: v for k, v in saved.__dict__.items() if not k.startswith("_")})
    obj._state.adding = False
    obj._state.db = saved._state.db


@admin.register(Team)
class TeamAdmin(GuardedModelAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name", "description"]
    list_filter = ["created_at"]
    readonly_fields = ["created_at"]
    inlines = [MembershipInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The slug names the team's permission groups; it is fixed once created.
        return ["slug", "created_at"] if obj is not None else ["created_at"]

    def save_model(self, request: HttpRequest, obj: Team, form: Any, change: bool) -> None:
        if change:
            fields = [f for f in form.changed_data if f in services.UPDATABLE_TEAM_FIELDS]
            services.update_team(
                Team.objects.get(pk=obj.pk),
                actor=request.user,
                **{f: getattr(obj, f) for f in fields},
            )
        else:
            created = services.create_team(
                obj.slug, name=obj.name, description=obj.description, actor=request.user
            )
            _adopt(obj, created)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        # Memberships go through the services so role groups and the audit log stay in step.
        team = form.instance
        with transaction.atomic():
            for inline in formset.forms:
                if not inline.has_changed() and not formset._should_delete_form(inline):
                    continue
                membership = inline.instance
                if formset._should_delete_form(inline):
                    if membership.pk:
                        services.remove_membership(team, membership.user, actor=request.user)
                    continue
                if membership.pk and "user" in inline.changed_data:
                    old = Membership.objects.select_related("user").get(pk=membership.pk)
                    services.remove_membership(team, old.user, actor=request.user)
                services.set_membership(
                    team,
                    inline.cleaned_data["user"],
                    inline.cleaned_data["role"],
                    actor=request.user,
                )
        formset.new_objects = formset.changed_objects = formset.deleted_objects = []
        return None


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["team", "user", "role", "source", "sso_group", "created_at"]
    list_filter = ["role", "source", "team"]
    search_fields = ["team__slug", "user__username", "user__email"]
    autocomplete_fields = ["user", "team"]
    list_select_related = ["team", "user"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Moving a membership to another team or user is a remove plus an add.
        managed = ["source", "sso_group", "created_at"]
        return ["team", "user", *managed] if obj is not None else managed

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        membership = services.set_membership(obj.team, obj.user, obj.role, actor=request.user)
        _adopt(obj, membership)

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        services.remove_membership(obj.team, obj.user, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for membership in queryset.select_related("team", "user"):
            services.remove_membership(membership.team, membership.user, actor=request.user)


ENVIRONMENT_FIELDS = [
    "name",
    "description",
    "order",
    "aws_account_id",
    "aws_region",
    "aws_role_arn",
    "aws_endpoint_url",
    "requires_approval",
    "approvals_required",
    "allows_ttl",
    "is_production",
    "approver_role",
    "over_budget_platform_admin",
    "auto_approve_allowed",
    "members_may_destroy",
    "auto_reconcile_drift",
    "state_locking",
    "dynamodb_lock_table",
]


class EnvironmentAdminForm(forms.ModelForm):
    """Parses; the environment rules are the service's, shown beside their field."""

    class Meta:
        model = Environment
        fields = ["slug", *ENVIRONMENT_FIELDS]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        proposed = Environment(**{f: v for f, v in cleaned.items() if f in ENVIRONMENT_FIELDS})
        if refusal := services.environment_refusal(proposed):
            self.add_error(refusal.field, refusal.message)
        return cleaned


@admin.register(Environment)
class EnvironmentAdmin(admin.ModelAdmin):
    form = EnvironmentAdminForm
    list_display = [
        "slug",
        "name",
        "aws_region",
        "aws_account_id",
        "requires_approval",
        "approvals_required",
        "approver_role",
        "allows_ttl",
        "is_production",
        "members_may_destroy",
        "order",
    ]
    list_filter = [
        "requires_approval",
        "allows_ttl",
        "is_production",
        "members_may_destroy",
        "auto_reconcile_drift",
        "state_locking",
        "aws_region",
    ]
    search_fields = ["slug", "name", "aws_account_id"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Resources and state keys name the environment by slug.
        return ["slug"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Environment, form: Any, change: bool) -> None:
        names = [f for f in ENVIRONMENT_FIELDS if not change or f in form.changed_data]
        saved = services.upsert_environment(
            obj.slug, actor=request.user, **{f: getattr(obj, f) for f in names}
        )
        _adopt(obj, saved)


@admin.register(APIToken)
class APITokenAdmin(admin.ModelAdmin):
    list_display = ["key_prefix", "name", "user", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["user__username", "name", "key_prefix"]
    # The hash is not secret, but nobody needs to see it.
    fields = (
        "user",
        "name",
        "key_prefix",
        "scopes",
        "team",
        "created_at",
        "last_used_at",
        "last_used_ip",
        "expires_at",
        "revoked_at",
        "workload_binding",
    )
    readonly_fields = fields
    list_select_related = ["user"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tokens are created by their owner and shown once

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        for token in queryset.select_related("user"):
            services.revoke_api_token(token, actor=request.user)
        self.message_user(request, "Tokens revoked.", messages.SUCCESS)


class WorkloadBindingInline(admin.TabularInline):
    model = WorkloadIdentityBinding
    extra = 0
    fields = ("repository", "ref_pattern", "environment_pattern", "service_slug", "scopes")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ServiceAccount)
class ServiceAccountAdmin(admin.ModelAdmin):
    """Read-only here: team maintainers manage service accounts (API, manage.py); disabling
    goes through the action so it is audited."""

    list_display = ["user", "team", "role", "created_by", "created_at", "disabled_at"]
    list_filter = ["team", "role", ("disabled_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__username", "name", "team__slug", "description"]
    fields = (
        "user",
        "team",
        "name",
        "description",
        "role",
        "created_by",
        "created_at",
        "disabled_at",
    )
    readonly_fields = fields
    list_select_related = ["user", "team", "created_by"]
    inlines = [WorkloadBindingInline]
    actions = ["disable"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Disable selected service accounts")
    def disable(self, request: HttpRequest, queryset: Any) -> None:
        for account in queryset.select_related("user", "team"):
            service_accounts.set_service_account_enabled(account, False, actor=request.user)
        self.message_user(request, "Service accounts disabled.", messages.SUCCESS)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit log is append-only, not even superusers edit or delete it."""

    list_display = [
        "created_at",
        "actor_name",
        "action",
        "target_type",
        "target_repr",
        "team",
        "ip_address",
    ]
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


class SSOGroupMappingAdminForm(forms.ModelForm):
    """Parses; a pattern confusable with an existing mapping is refused beside its field."""

    class Meta:
        model = SSOGroupMapping
        fields = ["group_pattern", "team", "role", "mode"]

    def clean_group_pattern(self) -> str:
        from .auth import groups

        pattern = str(self.cleaned_data["group_pattern"])
        if refusal := groups.confusable_refusal(pattern):
            raise forms.ValidationError(refusal)
        return pattern


@admin.register(SSOGroupMapping)
class SSOGroupMappingAdmin(admin.ModelAdmin):
    """IdP group → team role; saved and deleted through the audited mapping actions."""

    form = SSOGroupMappingAdminForm

    list_display = ["group_pattern", "team", "role", "mode", "created_at"]
    list_filter = ["mode", "role", "team"]
    search_fields = ["group_pattern", "team__slug"]
    autocomplete_fields = ["team"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        from .auth import groups

        original = SSOGroupMapping.objects.filter(pk=obj.pk).first() if change else None
        if original and (original.group_pattern, original.team_id) != (
            obj.group_pattern,
            obj.team_id,
        ):
            groups.delete_mapping(original, actor=request.user)  # renamed: a new mapping
        saved = groups.save_mapping(
            obj.group_pattern, obj.team, obj.role, obj.mode, actor=request.user
        )
        _adopt(obj, saved)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        from .auth import groups

        groups.delete_mapping(obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        from .auth import groups

        for mapping in queryset:
            groups.delete_mapping(mapping, actor=request.user)


class SCIMIdentityInline(admin.StackedInline):
    """Shown on the user: whether SCIM manages them, and who handed them over."""

    model = SCIMIdentity
    fk_name = "user"
    fields = ("external_id", "claimed_by", "claimed_at", "created_at")
    readonly_fields = fields
    can_delete = False
    extra = 0
    verbose_name_plural = "Managed by SCIM"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # only through the audited action below


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class IdpUserAdmin(UserAdmin):
    """Django's user admin, plus the one audited way to hand an existing user to SCIM."""

    inlines = [SCIMIdentityInline]
    actions = ["hand_to_scim"]

    @admin.action(description="Hand selected users to SCIM (the IdP manages them from now on)")
    def hand_to_scim(self, request: HttpRequest, queryset: Any) -> None:
        from .auth import scim

        for user in queryset:
            try:
                scim.hand_user_to_scim(user, actor=request.user)
            except (scim.NotPlatformAdmin, services.ServiceError) as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(
                    request, f"{user.get_username()} is now managed by SCIM.", messages.SUCCESS
                )
