from django.urls import path

from . import views
from .views import access as access_views
from .views import approvals as approval_views
from .views import drift as drift_views
from .views import template_request as request_views

app_name = "provisioning"
urlpatterns = [
    path("", views.resource_list, name="resource_list"),
    path("<int:pk>/", views.resource_detail, name="resource_detail"),
    path("approvals/", approval_views.approvals, name="approvals"),
    path(
        "approvals/<int:plan_run>/approve/",
        approval_views.approval_approve,
        name="approval_approve",
    ),
    path("<int:pk>/live/", views.resources.resource_live, name="resource_live"),
    path("<int:pk>/approve/", views.resource_approve, name="resource_approve"),
    path("<int:pk>/reject/", views.resource_reject, name="resource_reject"),
    path("<int:pk>/break-glass/", views.resource_break_glass, name="resource_break_glass"),
    path(
        "<int:pk>/override-policy/",
        views.resource_override_policy,
        name="resource_override_policy",
    ),
    path("<int:pk>/withdraw/", views.resource_withdraw, name="resource_withdraw"),
    path("<int:pk>/plan/", views.resource_plan, name="resource_plan"),
    path("<int:pk>/retry/", views.resource_retry, name="resource_retry"),
    path("<int:pk>/destroy/", views.resource_destroy, name="resource_destroy"),
    path("<int:pk>/archive/", views.resource_archive, name="resource_archive"),
    path("<int:pk>/unarchive/", views.resource_unarchive, name="resource_unarchive"),
    path("<int:pk>/upgrade/", views.resource_upgrade, name="resource_upgrade"),
    path("<int:pk>/parameters/", views.resource_change, name="resource_change"),
    path("<int:pk>/access/", access_views.resource_access, name="resource_access"),
    path("<int:pk>/reconcile/", drift_views.resource_reconcile, name="resource_reconcile"),
    path("<int:pk>/accept-drift/", drift_views.resource_accept_drift, name="resource_accept_drift"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("runs/<int:pk>/log/", views.run_log, name="run_log"),
    path("runs/<int:pk>/cancel/", views.run_cancel, name="run_cancel"),
    path("services/<slug:slug>/", views.service_resources, name="service_resources"),
]

# A template's request form: a catalog page (/catalog/templates/<slug>/request/, names in the
# `catalog` namespace) served by provisioning; config/urls.py mounts it with the catalog's pages.
catalog_urlpatterns = [
    path(
        "templates/<slug:slug>/request/",
        request_views.template_request,
        name="template_request",
    ),
    path(
        "templates/<slug:slug>/estimate/",
        request_views.template_estimate,
        name="template_estimate",
    ),
]
