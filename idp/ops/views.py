"""`/readyz` for load balancers, `/metrics` for Prometheus, `/api/v1/status/` for people."""

from __future__ import annotations

import hmac
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import extend_schema
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from idp.conf import setting

from ..api.views import error_responses
from .checks import readiness
from .metrics import register_collector
from .serializers import PlatformStatusSerializer
from .status import platform_status


@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    """Each dependency with ok/error; 503 naming the required ones that fail.

    The answer is at most IDP_READINESS_CACHE_SECONDS old (see `checks.readiness`)."""
    checks = readiness()
    failing = [check for check in checks if check.required and not check.ok]
    body: dict[str, Any] = {"status": "error" if failing else "ok"}
    if failing:
        body["detail"] = "not ready: " + "; ".join(f"{c.name} ({c.detail})" for c in failing)
        body["failing"] = [check.name for check in failing]
    body["checks"] = {check.name: check.as_dict() for check in checks}
    return JsonResponse(body, status=503 if failing else 200)


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text exposition; a bearer token is required when IDP_METRICS_TOKEN is set.

    Where a token is required (IDP_METRICS_REQUIRE_TOKEN, on in production) and none is set,
    the endpoint is not there (404) for anyone: metrics are never open by omission.
    """
    expected = setting("IDP_METRICS_TOKEN")
    if not expected and setting("IDP_METRICS_REQUIRE_TOKEN"):
        raise Http404("metrics are off until IDP_METRICS_TOKEN is set")
    if expected:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return HttpResponse("metrics need the scrape token\n", status=401)
    register_collector()
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)


class PlatformStatusView(APIView):
    """Worker count and queue depth of the platform, and recent runs of your teams
    (platform admins: of every team)."""

    @extend_schema(responses={200: PlatformStatusSerializer, **error_responses(401)})
    def get(self, request: Request) -> Response:
        return Response(PlatformStatusSerializer(platform_status(request.user)).data)
