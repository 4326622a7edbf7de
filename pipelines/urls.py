from django.urls import path

from . import deployment_views, views

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
    path("deployments/<int:pk>/", deployment_views.deployment_detail, name="deployment_detail"),
    path("deployments/<int:pk>/log/", deployment_views.deployment_log, name="deployment_log"),
    path(
        "deployments/<int:pk>/approve/",
        deployment_views.deployment_approve,
        name="deployment_approve",
    ),
    path(
        "deployments/<int:pk>/reject/", deployment_views.deployment_reject, name="deployment_reject"
    ),
    path(
        "deployments/<int:pk>/rollback/",
        deployment_views.deployment_rollback,
        name="deployment_rollback",
    ),
    path(
        "deployments/<int:pk>/promote/",
        deployment_views.deployment_promote,
        name="deployment_promote",
    ),
]
