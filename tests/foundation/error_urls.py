"""The platform's URLs plus views that fail, for the 500 page tests."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import handler404, handler500
from config.urls import urlpatterns as platform_urlpatterns


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug with a secret-looking detail: s3cr3t")


urlpatterns = [
    path("boom/", boom),
    path("api/v1/boom/", boom),
    *platform_urlpatterns,
]
__all__ = ["handler404", "handler500", "urlpatterns"]
