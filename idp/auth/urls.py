"""Included under /accounts/ before allauth's own URLs: the SSO sign-in entry points
wrapped by the off-site `next=` check, and the SSO pages."""

from allauth.socialaccount.providers.github.views import oauth2_login as github_login
from allauth.socialaccount.providers.google.views import oauth2_login as google_login
from allauth.socialaccount.providers.saml.views import finish_acs as saml_finish_acs
from allauth.socialaccount.providers.saml.views import login as saml_login
from django.urls import path

from . import views
from .oidc import callback as oidc_callback
from .oidc import login as oidc_login

urlpatterns = [
    path("oidc/<str:provider_id>/login/", views.refuse_offsite_next(oidc_login)),
    path("saml/<str:organization_slug>/login/", views.refuse_offsite_next(saml_login)),
    path(
        "saml/<str:organization_slug>/acs/finish/",
        views.refuse_unexpected_answer(saml_finish_acs),
    ),
    path("oidc/<str:provider_id>/login/callback/", views.refuse_unexpected_answer(oidc_callback)),
    path("github/login/", views.refuse_offsite_next(github_login)),
    path("google/login/", views.refuse_offsite_next(google_login)),
    path("sso/no-team/", views.no_team, name="sso_no_team"),
    path("sso/saml/metadata/", views.sp_metadata, name="sso_saml_metadata"),
]
