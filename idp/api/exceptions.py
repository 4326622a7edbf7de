"""Every API error is JSON: {"detail": ...}; validation errors map field -> messages."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

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
