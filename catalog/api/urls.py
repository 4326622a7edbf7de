from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import entities, locations, scorecards, template_sources, views

router = SimpleRouter()
router.register("templates", views.TemplateViewSet, basename="template")
router.register("services", views.ServiceViewSet, basename="service")

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
    path("scorecards/", scorecards.ScorecardList.as_view(), name="scorecard-list"),
    path("scorecards/<slug:slug>/", scorecards.ScorecardDetail.as_view(), name="scorecard-detail"),
    path("catalog/import/", entities.EntityImportView.as_view(), name="catalog-import"),
    path("catalog/entities", entities.EntityListView.as_view(), name="catalog-entities"),
    path("catalog/locations/", locations.LocationListView.as_view(), name="catalog-locations"),
    path(
        "catalog/locations/<int:pk>/",
        locations.LocationDetailView.as_view(),
        name="catalog-location",
    ),
    path(
        "catalog/locations/<int:pk>/scan/",
        locations.LocationScanView.as_view(),
        name="catalog-location-scan",
    ),
    path(
        "catalog/entities/<str:kind>/<str:namespace>/<str:name>",
        entities.EntityDetailView.as_view(),
        name="catalog-entity",
    ),
    path("", include(router.urls)),
]
