from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import entities, locations, scorecards, views

router = SimpleRouter()
router.register("templates", views.TemplateViewSet, basename="template")
router.register("services", views.ServiceViewSet, basename="service")

urlpatterns = [
    path(
        "templates/<slug:slug>/versions/<int:number>/",
        views.TemplateVersionView.as_view(),
        name="template-version-detail",
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
