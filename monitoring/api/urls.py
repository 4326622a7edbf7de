from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("budgets", views.BudgetViewSet, basename="budget")

urlpatterns = [
    path("costs/", views.CostView.as_view(), name="costs"),
    path("alerts/", views.AlertList.as_view(), name="alert-list"),
    path("metrics/", views.MetricList.as_view(), name="metric-list"),
    path("analytics/", views.AnalyticsView.as_view(), name="analytics"),
    *router.urls,
]
