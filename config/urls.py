"""The portal's, the API's and the hooks' addresses: every app's urls joined in one place."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from catalog import urls as catalog_urls
from catalog.api.template_sources import template_source_webhook
from catalog.software import urls as software_urls
from idp import views, views_service_accounts
from idp.api.schema_access import SchemaDocsView, SchemaView
from idp.ops import views as ops_views
from monitoring import hooks as monitoring_hooks
from provisioning import urls as provisioning_urls

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
    path("metrics", ops_views.metrics, name="metrics"),
    # SSO entry points and pages first: they wrap some of allauth's views.
    path("accounts/", include("idp.auth.urls")),
    path("accounts/", include("allauth.urls")),
    path("profile/", views.profile, name="profile"),
    path(
        "profile/notifications/",
        views.notification_preferences,
        name="notification_preferences",
    ),
    path("profile/tokens/", views.token_create, name="token_create"),
    path("profile/tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("teams/", views.team_list, name="team_list"),
    path("teams/<slug:slug>/", views.team_detail, name="team_detail"),
    path("teams/<slug:slug>/members/", views.member_add, name="member_add"),
    path("teams/<slug:slug>/members/<str:username>/", views.member_change, name="member_change"),
    path("teams/<slug:slug>/audit/", views.team_audit, name="team_audit"),
    path(
        "teams/<slug:slug>/service-accounts/",
        views_service_accounts.service_account_create,
        name="service_account_create",
    ),
    path(
        "teams/<slug:slug>/service-accounts/<slug:name>/tokens/",
        views_service_accounts.service_account_token,
        name="service_account_token",
    ),
    path(
        "teams/<slug:slug>/service-accounts/<slug:name>/enabled/",
        views_service_accounts.service_account_enable,
        name="service_account_enable",
    ),
    # One `catalog` namespace at /catalog/: the registry's pages, the request form
    # (provisioning's) and the software catalog's.
    path(
        "catalog/",
        include(
            (
                catalog_urls.urlpatterns
                + provisioning_urls.catalog_urlpatterns
                + software_urls.urlpatterns,
                "catalog",
            )
        ),
    ),
    path("resources/", include("provisioning.urls")),
    path("fleet-upgrades/", include("fleet.urls")),
    # The approvals inbox lives with resources; /approvals/ is the address people type.
    path(
        "approvals/", RedirectView.as_view(pattern_name="provisioning:approvals"), name="approvals"
    ),
    path("pipelines/", include("pipelines.urls")),
    path(
        "webhooks/template-sources/",
        template_source_webhook,
        name="template_source_webhook",
    ),
    path("webhooks/", include("pipelines.webhook_urls")),
    path("monitoring/", include("monitoring.urls")),
    path("hooks/sns/", monitoring_hooks.sns_endpoint, name="sns_endpoint"),
    path("policies/", include("policies.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/status/", ops_views.PlatformStatusView.as_view(), name="platform_status"),
    path("api/v1/", include("idp.api.urls")),
    path("scim/v2/", include("django_scim.urls", namespace="scim")),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", SchemaDocsView.as_view(url_name="schema"), name="swagger-ui"),
]

handler403 = "idp.views.permission_denied"
handler404 = "idp.views.not_found"
handler500 = "idp.api.exceptions.server_error"
