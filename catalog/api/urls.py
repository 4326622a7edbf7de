from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("templates", views.TemplateViewSet, basename="template")
router.register("services", views.ServiceViewSet, basename="service")

urlpatterns = [
    path(
        "templates/<slug:slug>/versions/<int:number>/",
        views.TemplateVersionView.as_view(),
        name="template-version-detail",
    ),
    path("", include(router.urls)),
]
