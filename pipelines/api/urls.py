from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import deployments, views

router = SimpleRouter()
router.register("pipelines", views.PipelineViewSet, basename="pipeline")
router.register("deployments", deployments.DeploymentViewSet, basename="deployment")
router.register("runtimes", deployments.RuntimeBindingViewSet, basename="runtime")

urlpatterns = [
    path("pipeline-templates/", views.PipelineTemplateList.as_view(), name="pipeline_templates"),
    path("", include(router.urls)),
]
