from django.urls import path

from . import views

# Mounted at /catalog/ under the `catalog` namespace with the software catalog's pages
# (catalog/software/urls.py) and the request form (provisioning.urls.catalog_urlpatterns):
# config/urls.py joins them, so no lower layer imports a higher one.
app_name = "catalog"
urlpatterns = [
    path("", views.template_list, name="template_list"),
    path("templates/<slug:slug>/", views.template_detail, name="template_detail"),
    path("sources/", views.source_list, name="source_list"),
    path("sources/add/", views.source_add, name="source_add"),
    path("sources/<int:pk>/", views.source_detail, name="source_detail"),
    path("sources/<int:pk>/sync/", views.source_sync, name="source_sync"),
    path("sources/<int:pk>/webhook-secret/", views.source_rotate_secret, name="source_rotate"),
    path(
        "sources/<int:pk>/versions/<int:version_pk>/status/",
        views.source_version_status,
        name="source_version_status",
    ),
]
