"""/api/v1/: every app registers its routes here, explicitly."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import auth_views, deprecation, views
from . import service_accounts as sa

app_name = "api"

router = DefaultRouter()
router.register("teams", views.TeamViewSet, basename="team")
router.register("environments", views.EnvironmentViewSet, basename="environment")
router.register("tokens", views.APITokenViewSet, basename="token")

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path("changelog/", deprecation.ChangelogView.as_view(), name="changelog"),
    path("audit/", views.AuditEventList.as_view(), name="audit"),
    path("auth/token/", auth_views.TokenObtainView.as_view(), name="token_obtain"),
    path("auth/token/refresh/", auth_views.TokenRefreshAccessView.as_view(), name="token_refresh"),
    path("auth/github-oidc/", sa.GitHubOIDCExchangeView.as_view(), name="github_oidc_exchange"),
    path(
        "teams/<slug:slug>/service-accounts/", sa.ServiceAccountListView.as_view(), name="sa-list"
    ),
    path(
        "teams/<slug:slug>/service-accounts/<slug:name>/",
        sa.ServiceAccountDetailView.as_view(),
        name="sa-detail",
    ),
    path(
        "teams/<slug:slug>/service-accounts/<slug:name>/tokens/",
        sa.ServiceAccountTokenListView.as_view(),
        name="sa-tokens",
    ),
    path(
        "teams/<slug:slug>/service-accounts/<slug:name>/tokens/<int:pk>/",
        sa.ServiceAccountTokenDetailView.as_view(),
        name="sa-token",
    ),
    path(
        "teams/<slug:slug>/service-accounts/<slug:name>/github-bindings/",
        sa.WorkloadBindingListView.as_view(),
        name="sa-bindings",
    ),
    path(
        "teams/<slug:slug>/service-accounts/<slug:name>/github-bindings/<int:pk>/",
        sa.WorkloadBindingDetailView.as_view(),
        name="sa-binding",
    ),
    path("", include("catalog.api.urls")),
    path("", include("catalog.software.api.urls")),
    path("", include("provisioning.api.urls")),
    path("", include("fleet.api.urls")),
    path("", include("pipelines.api.urls")),
    path("", include("monitoring.api.urls")),
    path("", include("policies.api")),
    path("", include(router.urls)),
]
