from django.urls import path

from . import views

app_name = "policies"
urlpatterns = [
    path("", views.policy_list, name="policy_list"),
    path("<slug:slug>/", views.policy_detail, name="policy_detail"),
]
