from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import template_sources, views

router = SimpleRouter()
router.register("templates", views.TemplateViewSet, basename="template")

urlpatterns = [
    path(
        "templates/<slug:slug>/versions/<int:number>/",
        views.TemplateVersionView.as_view(),
        name="template-version-detail",
    ),
    path(
        "template-sources/",
        template_sources.TemplateSourceListView.as_view(),
        name="template-source-list",
    ),
    path(
        "template-sources/<int:pk>/",
        template_sources.TemplateSourceDetailView.as_view(),
        name="template-source-detail",
    ),
    path(
        "template-sources/<int:pk>/sync/",
        template_sources.TemplateSourceSyncView.as_view(),
        name="template-source-sync",
    ),
    path(
        "templates/<slug:slug>/versions/<int:number>/status/",
        template_sources.VersionStatusView.as_view(),
        name="template-version-status",
    ),
    path("", include(router.urls)),
]
