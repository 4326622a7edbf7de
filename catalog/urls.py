from django.urls import path

from . import views

# Mounted at /catalog/ under the `catalog` namespace with the software catalog's pages
# (catalog/software/urls.py) and the request form (provisioning.urls.catalog_urlpatterns):
# config/urls.py joins them, so no lower layer imports a higher one.
app_name = "catalog"
urlpatterns = [
    path("", views.template_list, name="template_list"),
    path("templates/<slug:slug>/", views.template_detail, name="template_detail"),
]
