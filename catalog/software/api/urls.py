"""The software catalog's API (services, scorecards, entities, locations), under /api/v1/ beside the
registry's (idp/api/urls.py includes both)."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import entities, locations, scorecards, services

router = SimpleRouter()
router.register("services", services.ServiceViewSet, basename="service")

urlpatterns = [
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
