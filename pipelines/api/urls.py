from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("pipelines", views.PipelineViewSet, basename="pipeline")

urlpatterns = [
    path("pipeline-templates/", views.PipelineTemplateList.as_view(), name="pipeline_templates"),
    path("", include(router.urls)),
]
