from django.urls import path

from . import views

# Mounted at /catalog/ under the `catalog` namespace with the software catalog's pages
# (catalog/software/urls.py) and the request form (provisioning.urls.catalog_urlpatterns):
# idp/urls.py joins them, so no lower layer imports a higher one.
app_name = "catalog"
urlpatterns = [
    path("", views.template_list, name="template_list"),
    path("templates/<slug:slug>/", views.template_detail, name="template_detail"),
    path("services/", views.service_list, name="service_list"),
    path("services/new/", views.service_create, name="service_create"),
    path("services/<slug:slug>/", views.service_detail, name="service_detail"),
    path("services/<slug:slug>/edit/", views.service_edit, name="service_edit"),
    path("services/<slug:slug>/archive/", views.service_archive, name="service_archive"),
]
