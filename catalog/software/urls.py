"""The software catalog's pages, mounted at /catalog/ in the `catalog` namespace beside the
registry's (config/urls.py joins them): services, entities, import, docs and scorecards."""

from django.urls import path

from .views import docs, entities, entity_import, scorecards, services

app_name = "catalog"
urlpatterns = [
    path("services/", services.service_list, name="service_list"),
    path("services/new/", services.service_create, name="service_create"),
    path("services/<slug:slug>/", services.service_detail, name="service_detail"),
    path("services/<slug:slug>/edit/", services.service_edit, name="service_edit"),
    path(
        "services/<slug:slug>/deployments/",
        services.service_deployments,
        name="service_deployments",
    ),
    path("services/<slug:slug>/archive/", services.service_archive, name="service_archive"),
    path("import/", entity_import.entity_import, name="entity_import"),
    path("entities/", entities.entity_list, name="entity_list"),
    path("entities/search/", entities.entity_search, name="entity_search"),
    path(
        "entities/<str:kind>/<str:namespace>/<str:name>/",
        entities.entity_detail,
        name="entity_detail",
    ),
    path(
        "entities/<str:kind>/<str:namespace>/<str:name>/graph.json",
        entities.entity_graph,
        name="entity_graph",
    ),
    # Docs (TechDocs-style): catalog/docs.py
    path("docs/search/", docs.docs_search, name="docs_search"),
    path(
        "entities/<str:kind>/<str:namespace>/<str:name>/docs/",
        docs.entity_docs,
        name="entity_docs",
    ),
    path(
        "entities/<str:kind>/<str:namespace>/<str:name>/docs/<path:path>",
        docs.entity_docs,
        name="entity_docs_page",
    ),
    path(
        "entities/<str:kind>/<str:namespace>/<str:name>/docs-site/",
        docs.entity_docs_site,
        name="entity_docs_site_root",
    ),
    path(
        "entities/<str:kind>/<str:namespace>/<str:name>/docs-site/<path:path>",
        docs.entity_docs_site,
        name="entity_docs_site",
    ),
    path(
        "entities/<str:kind>/<str:namespace>/<str:name>/docs-build/",
        docs.entity_docs_build,
        name="entity_docs_build",
    ),
    path("scorecards/", scorecards.scorecard_overview, name="scorecard_overview"),
    path("scorecards/teams/<slug:slug>/", scorecards.scorecard_team, name="scorecard_team"),
    path(
        "scorecards/services/<slug:slug>/",
        scorecards.scorecard_service,
        name="scorecard_service",
    ),
    path(
        "scorecards/services/<slug:slug>/badge/",
        scorecards.scorecard_badge,
        name="scorecard_badge",
    ),
]
