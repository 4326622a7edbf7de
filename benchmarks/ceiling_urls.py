"""The platform's URLs plus a minimal view: the ceiling of this stack on this machine."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def ceiling(request: HttpRequest) -> HttpResponse:
    """The least a Django view can do: the whole middleware stack, no database, no template."""
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("bench/ceiling", ceiling, name="bench_ceiling"),
    path("", include("config.urls")),
]

handler404 = "idp.views.not_found"
