from django.urls import path

from . import views

app_name = "fleet"

urlpatterns = [
    path("", views.fleet_list, name="list"),
    path("new/", views.fleet_new, name="new"),
    path("new/preview/", views.fleet_preview, name="preview"),
    path("<int:pk>/", views.fleet_detail, name="detail"),
    path("<int:pk>/pause/", views.fleet_pause, name="pause"),
    path("<int:pk>/resume/", views.fleet_resume, name="resume"),
    path("<int:pk>/cancel/", views.fleet_cancel, name="cancel"),
]
