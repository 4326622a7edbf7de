from django.urls import path

from . import views

app_name = "policies"
urlpatterns = [
    path("", views.policy_list, name="policy_list"),
    path("whatif/", views.policy_whatif, name="policy_whatif"),
    path("<slug:slug>/", views.policy_detail, name="policy_detail"),
]
