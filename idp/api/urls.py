"""/api/v1/: every app registers its routes here, explicitly."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import auth_views, views

app_name = "api"

router = DefaultRouter()
router.register("teams", views.TeamViewSet, basename="team")
router.register("environments", views.EnvironmentViewSet, basename="environment")
router.register("tokens", views.APITokenViewSet, basename="token")

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path("audit/", views.AuditEventList.as_view(), name="audit"),
    path("auth/token/", auth_views.TokenObtainView.as_view(), name="token_obtain"),
    path("auth/token/refresh/", auth_views.TokenRefreshAccessView.as_view(), name="token_refresh"),
    path("", include("catalog.api.urls")),
    path("", include("provisioning.api.urls")),
    path("", include("pipelines.api.urls")),
    path("", include("monitoring.api.urls")),
    path("", include("policies.api")),
    path("", include(router.urls)),
]
