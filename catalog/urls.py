from django.urls import path

from idp.placeholder import section

app_name = "catalog"
urlpatterns = [
    path("", section("Catalog"), name="template_list"),
    path("templates/<slug:slug>/", section("Template"), name="template_detail"),
    path("services/", section("Services"), name="service_list"),
    path("services/<slug:slug>/", section("Service"), name="service_detail"),
]
