from django.urls import path

from . import views, views_accuracy, views_alerts

app_name = "monitoring"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("teams/<slug:slug>/", views.team_dashboard, name="team_dashboard"),
    path("teams/<slug:slug>/budget/", views.budget_edit, name="budget_edit"),
    path("teams/<slug:slug>/csv/<str:dataset>/", views.csv_download, name="csv"),
    path("accuracy/", views_accuracy.cost_accuracy, name="accuracy"),
    path("alerts/", views_alerts.alerts, name="alerts"),
    path("alerts/<int:pk>/acknowledge/", views_alerts.acknowledge, name="alert_acknowledge"),
    path("resources/<int:pk>/", views.resource_panel, name="resource_panel"),
    path("resources/<int:pk>/metrics.csv", views.resource_csv, name="resource_csv"),
]
