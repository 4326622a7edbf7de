from django.urls import path

from . import views, views_docs, views_entities, views_entities_portal, views_scorecards

app_name = "catalog"
urlpatterns = [
    path("", views.template_list, name="template_list"),
    path("templates/<slug:slug>/", views.template_detail, name="template_detail"),
    path("templates/<slug:slug>/request/", views.template_request, name="template_request"),
    path("templates/<slug:slug>/estimate/", views.template_estimate, name="template_estimate"),
    path("services/", views.service_list, name="service_list"),
    path("services/new/", views.service_create, name="service_create"),
    path("services/<slug:slug>/", views.service_detail, name="service_detail"),
    path("services/<slug:slug>/edit/", views.service_edit, name="service_edit"),
    path("services/<slug:slug>/archive/", views.service_archive, name="service_archive"),
    path("import/", views_entities.entity_import, name="entity_import"),
    path("entities/", views_entities_portal.entity_list, name="entity_list"),
    path("entities/search/", views_entities_portal.entity_search, name="entity_search"),
    path(
        "entities/<str:kind>/<str:namespace>/<str:name>/",
        views_entities_portal.entity_detail,
        name="entity_detail",
    ),
    path(
        "entities/<str:kind>/<str:namespace>/<str:name>/graph.json",
        views_entities_portal.entity_graph,
        name="entity_graph",
    ),
    # Docs (TechDocs-style): catalog/views_docs.py
    path("docs/search/", views_docs.docs_search, name="docs_search"),
    path(
        "entities/<str:kind>/<str:namespace>/<str:name>/docs/",
        views_docs.entity_docs,
        name="entity_docs",
    ),
    path(
        "entities/<str:kind>/<str:namespace>/<str:name>/docs/<path:path>",
        views_docs.entity_docs,
        name="entity_docs_page",
    ),
    path(
        "entities/<str:kind>/<str:namespace>/<str:name>/docs-site/",
        views_docs.entity_docs_site,
        name="entity_docs_site_root",
    ),
    path(
        "entities/<str:kind>/<str:namespace>/<str:name>/docs-site/<path:path>",
        views_docs.entity_docs_site,
        name="entity_docs_site",
    ),
    path(
        "entities/<str:kind>/<str:namespace>/<str:name>/docs-build/",
        views_docs.entity_docs_build,
        name="entity_docs_build",
    ),
    path("scorecards/", views_scorecards.scorecard_overview, name="scorecard_overview"),
    path("scorecards/teams/<slug:slug>/", views_scorecards.scorecard_team, name="scorecard_team"),
    path(
        "scorecards/services/<slug:slug>/",
        views_scorecards.scorecard_service,
        name="scorecard_service",
    ),
    path(
        "scorecards/services/<slug:slug>/badge/",
        views_scorecards.scorecard_badge,
        name="scorecard_badge",
    ),
]
