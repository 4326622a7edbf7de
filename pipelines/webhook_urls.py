"""Included at /webhooks/ by config/urls.py."""

from django.urls import path

from . import webhooks

app_name = "webhooks"
urlpatterns = [path("github/", webhooks.github_webhook, name="github")]
