"""Django admin for platform admins: the approval queue, runs with logs, approvals, locks.

Every change goes through the provisioning actions, which ask the approval policy (four
eyes, roles, platform admin over budget); lists are narrowed with for_user so a staff
member sees only their teams' objects. The queue (`…/resource/approvals/`) lists the plans
awaiting *your* decision; a resource's page shows its latest plan (diff, counts, cost,
approvals) with approve/reject buttons naming exactly that plan run.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import JSONField as JSONModelField
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from idp.admin_filters import TeamListFilter
from idp.services import ServiceError

from . import actions
from .access import RUN_HEAVY_FIELDS
from .actions import inbox, proposals
from .approval_policy import ApprovalPolicy, Requirement, break_glass_refusal
from .choices import ResourceStatus, RunKind, RunStatus
from .models import Approval, Resource, ResourceLock, Run
from .plan_summary import plan_counts
from .presenters import (
    latest_plan,
    masked_outputs,
    masked_parameters,
    proposed_change,
)

ADMIN_LOG_LIMIT = 512 * 1024


class StaffVisibleMixin:
    """Staff see their teams' objects (platform admins all); the services decide every change."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # resources are requested through the portal, API or CLI

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AwaitingApprovalFilter(admin.SimpleListFilter):
    title = "approval queue"
    parameter_name = "queue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("awaiting", "Resources awaiting approval")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Resource]) -> QuerySet[Resource]:
        if self.value() == "awaiting":
            return queryset.filter(status=ResourceStatus.AWAITING_APPROVAL)
        return queryset


class RejectReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=2000)


class PlanDecisionForm(forms.Form):
    """A decision from a resource's page: it names the plan run the page showed."""

    plan_run = forms.IntegerField(min_value=1, max_value=2**63 - 1)
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    reason = forms.CharField(max_length=2000, required=False)


def _as_json(value: Any) -> str:
    """Values the way users write them (JSON), not Python reprs; long ones wrap."""
    if value is None:
        return "-"
    text = json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)
    return format_html(
        '<pre style="white-space:pre-wrap;overflow-wrap:anywhere;margin:0">{}</pre>', text
    )


def _latest_plan_summary() -> Subquery:
    """The summary of the newest plan with one (as `proposals.latest_plan`, in SQL)."""
    plans = Run.objects.filter(resource=OuterRef("pk"), kind=RunKind.PLAN)
    return Subquery(
        plans.exclude(plan_summary={}).order_by("-created_at", "-id").values("plan_summary")[:1],
        output_field=JSONModelField(),
    )


@admin.register(Resource)
class ResourceAdmin(StaffVisibleMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "team",
        "environment",
        "template_label",
        "status_badge",
        "plan_add",
        "plan_change",
        "plan_destroy",
        "requested_by",
        "created_at",
    ]
    list_filter = [
        AwaitingApprovalFilter,
        "status",
        "environment",
        ("team", TeamListFilter),
        "template",
        "drifted",
    ]
    search_fields = [
        "name",
        "team__slug",
        "template__slug",
        "service__slug",
        "requested_by__username",
    ]
    list_select_related = ["team", "environment", "template", "template_version", "requested_by"]
    actions = ["approve_selected", "reject_selected", "break_glass_selected"]
    date_hierarchy = "created_at"
    change_form_template = "provisioning/admin/resource_change_form.html"
    change_list_template = "provisioning/admin/resource_change_list.html"
    fields = (
        "name",
        "team",
        "service",
        "environment",
        "template",
        "template_version",
        "status",
        "shown_parameters",
        "shown_proposal",
        "break_glass_used",
        "shown_outputs",
        "requested_by",
        "requires_platform_admin",
        "estimated_monthly_cost",
        "expires_at",
        "drifted",
        "drift_details",
        "last_error",
        "created_at",
        "provisioned_at",
        "destroyed_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Resource]:
        return (
            Resource.objects.for_user(request.user)
            .select_related(*self.list_select_related)
            .annotate(latest_plan_summary=_latest_plan_summary())
        )

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_staff)

    def get_urls(self) -> list[URLPattern]:
        # Before the default `<object_id>/` routes, which would swallow "approvals/".
        return [
            path(
                "approvals/",
                self.admin_site.admin_view(self.queue_view),
                name="provisioning_resource_approvals",
            ),
            path(
                "<path:object_id>/decide/",
                self.admin_site.admin_view(self.decide_view),
                name="provisioning_resource_decide",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        extra = {**(extra_context or {}), "inbox_count": actions.inbox_count(request.user)}
        return super().changelist_view(request, extra)

    def queue_view(self, request: HttpRequest) -> HttpResponse:
        """The plans awaiting your decision (the portal's approvals inbox, in admin)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Plans awaiting your decision",
            "items": actions.inbox_items(request.user),
        }
        return TemplateResponse(request, "provisioning/admin/approval_queue.html", context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        resource = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if resource is not None:
            extra["plan_panel"] = self._plan_panel(request, resource)
        return super().change_view(request, object_id, form_url, extra)

    def _plan_panel(self, request: HttpRequest, resource: Resource) -> dict[str, Any] | None:
        """The resource's latest plan as a reviewer needs it, and whether (and why not)
        the signed-in user may decide on it: the approval policy's answer."""
        plan = latest_plan(resource)
        if plan is None:
            return None
        awaiting = proposals.plan_awaiting_decision(resource)
        deciding = awaiting is not None and awaiting.pk == plan.pk
        policy = ApprovalPolicy.of(resource)
        item = None
        refusal = None
        if awaiting is not None and deciding:
            item = inbox.describe([inbox.Pending(resource, awaiting)])[0]
            refusal = policy.refusal(resource, awaiting, request.user)
            plan = awaiting
        return {
            "plan": plan,
            "counts": plan_counts(plan.plan_summary),
            "requirement": Requirement.from_json(plan.approval_requirement),
            "progress": policy.progress(plan) if plan.status == RunStatus.SUCCEEDED else {},
            "item": item,
            "deciding": deciding,
            "refusal": refusal,
            "may_decide": deciding and refusal is None and self.has_approve_permission(request),
            "decide_url": reverse("admin:provisioning_resource_decide", args=[resource.pk]),
        }

    def decide_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Approve or reject exactly the plan run the resource's page showed."""
        return require_POST(self._decide_one)(request, object_id)

    def _decide_one(self, request: HttpRequest, object_id: str) -> HttpResponse:
        resource = self.get_object(request, object_id)
        if resource is None:
            raise Http404("No such resource (or not yours)")
        if not self.has_approve_permission(request):
            raise PermissionDenied
        page = reverse("admin:provisioning_resource_change", args=[resource.pk])
        form = PlanDecisionForm(request.POST)
        if not form.is_valid():
            self.message_user(request, "Choose a decision on the plan shown.", messages.ERROR)
            return HttpResponseRedirect(page)
        data = form.cleaned_data
        try:
            decide = actions.approve if data["decision"] == "approve" else actions.reject
            decision = decide(
                resource, actor=request.user, reason=data["reason"], plan_run=data["plan_run"]
            )
        except ServiceError as error:
            self.message_user(request, f"{resource}: {error.message}", messages.ERROR)
            return HttpResponseRedirect(page)
        self.message_user(request, decision.message, messages.SUCCESS)
        return HttpResponseRedirect(page)

    def has_break_glass_permission(self, request: HttpRequest) -> bool:
        return break_glass_refusal(request.user) is None

    @admin.display(description="template", ordering="template__slug")
    def template_label(self, obj: Resource) -> str:
        # The name people use, with the internal number admins look versions up by.
        version = obj.template_version
        return f"{obj.template.slug} {version.display} (#{version.number})"

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: Resource) -> str:
        return obj.get_status_display()

    def _count(self, obj: Resource, key: str) -> int | str:
        summary = getattr(obj, "latest_plan_summary", None)
        return plan_counts(summary)[key] if summary else "—"

    @admin.display(description="+ add")
    def plan_add(self, obj: Resource) -> int | str:
        return self._count(obj, "add")

    @admin.display(description="~ change")
    def plan_change(self, obj: Resource) -> int | str:
        return self._count(obj, "change")

    @admin.display(description="- destroy")
    def plan_destroy(self, obj: Resource) -> int | str:
        return self._count(obj, "destroy")

    @admin.display(description="current parameters (sensitive masked)")
    def shown_parameters(self, obj: Resource) -> str:
        return _as_json(masked_parameters(obj))

    @admin.display(description="proposed change")
    def shown_proposal(self, obj: Resource) -> str:
        return _as_json(proposed_change(obj))

    @admin.display(description="break-glass used", boolean=True)
    def break_glass_used(self, obj: Resource) -> bool:
        return obj.approvals.filter(break_glass=True).exists()

    @admin.display(description="outputs (sensitive masked)")
    def shown_outputs(self, obj: Resource) -> str:
        return _as_json(masked_outputs(obj))

    def _decide(self, request: HttpRequest, queryset: QuerySet[Resource], decide: Any) -> None:
        done, refused = 0, []
        for resource in queryset:
            try:
                decide(resource)
            except ServiceError as error:
                refused.append(f"{resource}: {error.message}")
            else:
                done += 1
        if done:
            self.message_user(
                request, f"{done} plan{'' if done == 1 else 's'} decided.", messages.SUCCESS
            )
        for line in refused:
            self.message_user(request, line, messages.ERROR)

    @admin.action(description="Approve selected plans", permissions=["approve"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[Resource]) -> None:
        self._decide(request, queryset, lambda r: actions.approve(r, actor=request.user))

    def _with_reason(
        self,
        request: HttpRequest,
        queryset: QuerySet[Resource],
        action_name: str,
        decide: Any,
        **page: str,
    ) -> HttpResponse | None:
        """Ask for a reason on an intermediate page, then decide each selected resource."""
        form = RejectReasonForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            reason = form.cleaned_data["reason"]
            self._decide(request, queryset, lambda r: decide(r, reason))
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "resources": queryset,
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "action_name": action_name,
            **page,
        }
        return TemplateResponse(request, "provisioning/admin/decision_reason.html", context)

    @admin.action(description="Reject selected plans", permissions=["approve"])
    def reject_selected(
        self, request: HttpRequest, queryset: QuerySet[Resource]
    ) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            "reject_selected",
            lambda r, reason: actions.reject(r, actor=request.user, reason=reason),
            title="Reject selected plans",
            explanation="The requesters will see this reason with the decision.",
            submit_label="Reject",
        )

    @admin.action(
        description="Break-glass: approve alone (platform admins, audited)",
        permissions=["break_glass"],
    )
    def break_glass_selected(
        self, request: HttpRequest, queryset: QuerySet[Resource]
    ) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            "break_glass_selected",
            lambda r, reason: actions.break_glass(r, actor=request.user, reason=reason),
            title="Break-glass approval of selected plans",
            explanation=(
                "You approve these plans alone, past the four-eyes rule. The reason is kept "
                "in the audit log and the resources are marked."
            ),
            submit_label="Approve alone",
        )


@admin.register(Run)
class RunAdmin(StaffVisibleMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "resource",
        "kind",
        "status",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
    ]
    list_filter = ["status", "kind", "resource__environment", ("resource__team", TeamListFilter)]
    search_fields = ["resource__name", "resource__team__slug", "error"]
    list_select_related = ["resource__team", "resource__environment", "created_by"]
    fields = (
        "resource",
        "kind",
        "status",
        "is_destroy",
        "template_version",
        "plan_run",
        "plan_hash",
        "plan_summary",
        "plan_text",
        "error",
        "cancel_requested",
        "created_by",
        "worker",
        "heartbeat_at",
        "log_size",
        "created_at",
        "started_at",
        "finished_at",
        "log",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Run]:
        return Run.objects.for_user(request.user).defer(*RUN_HEAVY_FIELDS)

    @admin.display(description="log")
    def log(self, obj: Run) -> str:
        text, _, complete = actions.read_run_log(obj, offset=0, limit=ADMIN_LOG_LIMIT)
        more = "" if complete or len(text) < ADMIN_LOG_LIMIT else "\n… (the API pages the rest)"
        return format_html('<pre class="run-log">{}{}</pre>', text, more)


@admin.register(Approval)
class ApprovalAdmin(StaffVisibleMixin, admin.ModelAdmin):
    list_display = [
        "resource",
        "decision",
        "break_glass",
        "decided_by",
        "created_at",
        "expires_at",
        "reason",
    ]
    list_filter = ["decision", "break_glass", "created_at"]
    search_fields = ["resource__name", "decided_by__username", "reason"]
    list_select_related = ["resource__team", "resource__environment", "decided_by"]
    readonly_fields = (
        "resource",
        "run",
        "decision",
        "decided_by",
        "break_glass",
        "reason",
        "plan_hash",
        "created_at",
        "expires_at",
    )
    fields = readonly_fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Approval]:
        return Approval.objects.for_user(request.user)


@admin.register(ResourceLock)
class ResourceLockAdmin(StaffVisibleMixin, admin.ModelAdmin):
    list_display = ["resource", "run_link", "acquired_at"]
    list_select_related = ["resource__team", "resource__environment", "run"]
    readonly_fields = ["resource", "run", "acquired_at"]
    actions = ["unlock_selected"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ResourceLock]:
        visible = Resource.objects.for_user(request.user).values("pk")
        return ResourceLock.objects.filter(resource__in=visible)

    def has_unlock_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_staff)

    @admin.display(description="run")
    def run_link(self, obj: ResourceLock) -> str:
        return format_html('<a href="{}">run {}</a>', obj.run.get_absolute_url(), obj.run_id)

    @admin.action(
        description="Unlock selected resources (clear a stale lock)", permissions=["unlock"]
    )
    def unlock_selected(self, request: HttpRequest, queryset: QuerySet[ResourceLock]) -> None:
        for lock in queryset.select_related("resource"):
            try:
                unlocked = actions.unlock(lock.resource, actor=request.user)
            except ServiceError as error:
                self.message_user(request, f"{lock.resource}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, unlocked.message, messages.SUCCESS)
