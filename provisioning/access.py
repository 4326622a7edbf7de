"""Who sees which resources and runs: the one access function per object type, for the
portal, the API and the admin alike (visibility is `for_user`; these add what a page or an
answer loads in one query). A lookup of a resource or run outside these is a bug."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Count, Exists, Max, OuterRef, QuerySet, Subquery
from django.db.models.functions import Cast, Coalesce
from guardian.models import GroupObjectPermission

from catalog.models import Template, TemplateVersion
from idp.models import Environment

from .choices import RUN_ACTIVE, RunKind
from .models import Approval, Resource, Run

# Run fields never worth loading for pages and API answers: plan files and states are bytes.
RUN_HEAVY_FIELDS = ("plan_file", "pending_state", "plan_document")


def _activity_subquery() -> Subquery:
    # "running" sorts after "queued": a running run wins over the ones waiting behind it.
    return Subquery(
        Run.objects.filter(resource=OuterRef("pk"), status__in=RUN_ACTIVE)
        .exclude(kind=RunKind.DRIFT)
        .order_by("-status")
        .values("status")[:1]
    )


def with_activity(queryset: QuerySet[Resource]) -> QuerySet[Resource]:
    """Resources annotated with `activity`: whether the run carrying their status is
    `queued` (waiting for a worker) or `running`, else None; one subquery, no query per row.
    Drift checks do not count: they never change a resource's status."""
    return queryset.annotate(activity=_activity_subquery())


def resource_queryset(user: Any) -> QuerySet[Resource]:
    """Resources visible to `user`, with everything a list row shows in one query."""
    return with_activity(
        Resource.objects.for_user(user).select_related(
            "team", "service", "environment", "template", "template_version", "requested_by"
        )
    )


def _of_resource(model: Any, value: Any) -> Subquery:
    """One aggregate over the resource's rows of `model`, as a subquery: the outer query
    stays one row per resource, without a GROUP BY of its own."""
    rows = model.objects.filter(resource=OuterRef("pk")).order_by().values("resource")
    return Subquery(rows.annotate(value=value).values("value")[:1])


def resource_page_queryset(user: Any) -> QuerySet[Resource]:
    """`resource_queryset` with what the resource page reads of its approvals and runs in
    the same query: `approval_count`, `last_approval` (pk), `break_glass_used`,
    `run_active` (a queued or running run of any kind) and `is_shared` (with another team)."""
    return resource_queryset(user).annotate(
        approval_count=Coalesce(_of_resource(Approval, Count("pk")), 0),
        last_approval=_of_resource(Approval, Max("pk")),
        break_glass_used=Exists(Approval.objects.filter(resource=OuterRef("pk"), break_glass=True)),
        run_active=Exists(Run.objects.filter(resource=OuterRef("pk"), status__in=RUN_ACTIVE)),
        is_shared=Exists(
            GroupObjectPermission.objects.filter(
                content_type=ContentType.objects.get_for_model(Resource),
                object_pk=Cast(OuterRef("pk"), CharField()),
            )
        ),
    )


# What a list row shows (the API's `ResourceListSerializer` and the portal's table): the
# serializer's own columns, then the related ones. The big columns of related rows (a
# template version's module files, a resource's parameters and outputs) stay in the
# database, and the small lookup tables are read by subqueries: a seven-table join costs
# PostgreSQL ~9 ms to plan, more than running it.
LIST_COLUMNS = (
    "id",
    "name",
    "status",
    "drifted",
    "estimated_monthly_cost",
    "requires_platform_admin",
    "expires_at",
    "created_at",
    "updated_at",
    "provisioned_at",
    "archived_at",
    "environment",
    "template",
    "template_version",
    "team__slug",
    "service__slug",
    "requested_by__username",
)


def _lookup(model: Any, column: str, fk: str) -> Subquery:
    return Subquery(model.objects.filter(pk=OuterRef(fk)).order_by().values(column)[:1])


def resource_list_queryset(user: Any) -> QuerySet[Resource]:
    """Resources visible to `user` with only what a list row shows, in one query.

    Rows carry `environment_slug`, `template_slug`, `version_number` and `version_tag` in
    place of the environment, template and version objects.
    """
    return with_activity(
        Resource.objects.for_user(user)
        .select_related("team", "service", "requested_by")
        .only(*LIST_COLUMNS)
        .annotate(
            environment_slug=_lookup(Environment, "slug", "environment_id"),
            template_slug=_lookup(Template, "slug", "template_id"),
            version_number=_lookup(TemplateVersion, "number", "template_version_id"),
            version_tag=_lookup(TemplateVersion, "label", "template_version_id"),
            version_state=_lookup(TemplateVersion, "status", "template_version_id"),
        )
    )


def run_queryset(user: Any) -> QuerySet[Run]:
    """Runs visible to `user`, without plan file bytes."""
    return (
        Run.objects.for_user(user)
        .select_related("template_version", "created_by")
        .defer(*RUN_HEAVY_FIELDS)
    )
