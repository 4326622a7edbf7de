from django.urls import path

from idp.placeholder import section

app_name = "provisioning"
urlpatterns = [path("", section("Resources"), name="resource_list")]
