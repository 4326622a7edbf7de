from django.urls import path

from . import views

app_name = "pipelines"
urlpatterns = [
    path("", views.pipeline_list, name="pipeline_list"),
    path("new/", views.pipeline_create, name="pipeline_create"),
    path("preview/", views.pipeline_preview, name="pipeline_preview"),
    path("<int:pk>/", views.pipeline_detail, name="pipeline_detail"),
    path("<int:pk>/edit/", views.pipeline_edit, name="pipeline_edit"),
    path("<int:pk>/runs/", views.pipeline_runs, name="pipeline_runs"),
    path("<int:pk>/workflow.yml", views.pipeline_workflow, name="pipeline_workflow"),
    path("<int:pk>/deliver/", views.pipeline_deliver, name="pipeline_deliver"),
]
