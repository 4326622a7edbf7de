from django.urls import path

from idp.placeholder import section

app_name = "pipelines"
urlpatterns = [path("", section("Pipelines"), name="pipeline_list")]
