from django.urls import path

from . import views

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
]
