"""Provisioning routes under /api/v1/ (included by idp.api.urls into the `api` namespace)."""

from rest_framework.routers import SimpleRouter

from . import approvals, drift, views

router = SimpleRouter()
router.register("resources", views.ResourceViewSet, basename="resource")
router.register("runs", views.RunViewSet, basename="run")
router.register("approvals", approvals.ApprovalViewSet, basename="approval")

urlpatterns = [*drift.urlpatterns, *router.urls]
