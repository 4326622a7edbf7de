"""Fleet routes under /api/v1/ (included by idp.api.urls into the `api` namespace)."""

from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("fleet-upgrades", views.FleetUpgradeViewSet, basename="fleet-upgrade")

urlpatterns = router.urls
