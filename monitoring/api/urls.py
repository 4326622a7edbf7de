from django.urls import path
from rest_framework.routers import SimpleRouter

from . import alarm_views, views

router = SimpleRouter()
router.register("budgets", views.BudgetViewSet, basename="budget")
router.register("alert-channels", alarm_views.AlertChannelViewSet, basename="alert-channel")

urlpatterns = [
    path("costs/", views.CostView.as_view(), name="costs"),
    path("costs/accuracy/", views.CostAccuracyView.as_view(), name="cost-accuracy"),
    path("alerts/", views.AlertList.as_view(), name="alert-list"),
    path("alarm-events/", alarm_views.AlarmEventList.as_view(), name="alarm-event-list"),
    path(
        "alarm-events/<int:pk>/acknowledge/",
        alarm_views.AlarmEventAcknowledge.as_view(),
        name="alarm-event-acknowledge",
    ),
    path(
        "resources/<int:pk>/cloudwatch-logs/",
        alarm_views.ResourceCloudWatchLogs.as_view(),
        name="resource-cloudwatch-logs",
    ),
    path("metrics/", views.MetricList.as_view(), name="metric-list"),
    path("analytics/", views.AnalyticsView.as_view(), name="analytics"),
    *router.urls,
]
