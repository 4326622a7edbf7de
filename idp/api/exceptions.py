"""Every API error is JSON: {"detail": ...}; validation errors map field -> messages.

Errors raised outside DRF's handling (an unknown /api/ URL, an uncaught exception, under
DEBUG too) are made JSON by `idp.middleware.RequestContextMiddleware` with `json_error`;
a database that is gone answers 503 with Retry-After (`database_unavailable`), and a
transaction that lost a race to concurrent changes (a deadlock the action's retries did not
get past) a 409 that says so.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..db import CONTENTION_DETAIL, is_contention
from ..services import ServiceError

logger = logging.getLogger(__name__)


def _validation_detail(exc: DjangoValidationError) -> Any:
    if hasattr(exc, "error_dict"):
        return {
            field: [str(m) for e in errs for m in e.messages]
            for field, errs in exc.error_dict.items()
        }
    return {"non_field_errors": exc.messages}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RecursionError):
        # Nested input that got past the JSON parser (a JSON string in a form field, say)
        # is the client's doing; logged in full in case it was ours.
        logger.warning("RecursionError answered as 400", exc_info=exc)
        return Response(
            {"detail": "The input is nested too deeply to process."},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, ServiceError):
        return Response({"detail": exc.detail}, status=exc.status)
    if isinstance(exc, DjangoValidationError):
        return Response({"detail": _validation_detail(exc)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    # Validation errors (field -> messages) and lists are wrapped so every body has "detail".
    data = response.data
    if (
        isinstance(exc, exceptions.ValidationError)
        or isinstance(data, list)
        or (isinstance(data, dict) and "detail" not in data)
    ):
        response.data = {"detail": data}
    return response


# A connection the database dropped, or a database that does not answer: a dependency down.
DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5
DETAILS = {
    400: "Bad request.",
    403: "You do not have permission to perform this action.",
    404: "Not found.",
    405: "Method not allowed.",
    500: "Server error.",
}


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def json_error(status_code: int, detail: str | None = None) -> JsonResponse:
    """The API's error body for a status, when no view wrote one."""
    reason = detail or DETAILS.get(status_code) or HttpResponse(status=status_code).reason_phrase
    return JsonResponse({"detail": reason}, status=status_code)


def database_unavailable(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """503 with Retry-After: the client should simply try again (a new connection is made).

    A lost race (deadlock, serialization failure, lock timeout) is no outage: 409, retry."""
    contention = is_contention(exc)
    logger.warning(
        "%s for %s %s: %s: %s",
        "concurrent changes collided" if contention else "database unavailable",
        request.method,
        request.path,
        exc.__class__.__name__,
        str(exc).splitlines()[0] if str(exc) else "",
    )
    if contention:
        code, title, detail, after = 409, "Conflict", CONTENTION_DETAIL, 1
    else:
        code, title, after = 503, "Unavailable", RETRY_AFTER_SECONDS
        detail = "The database is unavailable; try again in a few seconds."
    response: HttpResponse
    if is_api(request) or "json" in request.headers.get("Accept", ""):
        response = JsonResponse({"detail": detail}, status=code)
    else:
        response = HttpResponse(
            f"<!doctype html><title>{title}</title><h1>{title}</h1><p>{detail}</p>",
            status=code,
        )
    response["Retry-After"] = str(after)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: JSON under /api/, the portal's page elsewhere."""
    if is_api(request):
        return json_error(500)
    return defaults.server_error(request)
