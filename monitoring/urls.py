from django.urls import path

from idp.placeholder import section

app_name = "monitoring"
urlpatterns = [
    path("", section("Monitoring"), name="dashboard"),
    path("teams/<slug:slug>/", section("Team dashboard"), name="team_dashboard"),
]
