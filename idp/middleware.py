from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import BadRequest, SuspiciousOperation
from django.core.signals import got_request_exception
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.safestring import SafeString, mark_safe
from django.views import defaults
from django.views.debug import ExceptionReporter

from .api.exceptions import (
    DATABASE_ERRORS,
    database_unavailable,
    is_api,
    json_error,
    server_error,
)
from .context import client_ip_var, new_request_id, request_id_var


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


def _remember_exception(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """Django turned an exception into a 500 somewhere inside: keep it for the middleware."""
    if request is not None:
        request.idp_exception = sys.exc_info()[1]  # type: ignore[attr-defined]


got_request_exception.connect(_remember_exception, dispatch_uid="idp-remember-exception")


def _portal_not_found(request: HttpRequest, exception: Exception | None) -> HttpResponse:
    from .views import not_found  # views import models: loaded once the apps are ready

    return not_found(request, exception)


class PortalErrorReporter(ExceptionReporter):
    """What DEBUG's error page shows a client: the platform's own page, never Django's
    technical one (traceback, settings, the request's environment with DATABASE_URL).

    Under DEBUG (`make run`) Django renders an uncaught exception, and a SuspiciousOperation
    such as a disallowed Host, with the request's exception reporter; this one renders what
    production shows. The traceback still goes to the log (`django.request`)."""

    def _page(self) -> HttpResponse:
        if self.request is None:  # never under technical_500_response, which has one
            return HttpResponse("Server error.", status=500, content_type="text/plain")
        if isinstance(self.exc_value, SuspiciousOperation | BadRequest):
            return defaults.bad_request(self.request, self.exc_value)
        return server_error(self.request)

    def get_traceback_html(self) -> SafeString:
        # The platform's own template, rendered and escaped by Django already.
        return mark_safe(self._page().content.decode())  # noqa: S308

    def get_traceback_text(self) -> SafeString:
        page = self._page()
        text = page.content.decode() if "json" in page.get("Content-Type", "") else ""
        text = text or f"{page.status_code} {page.reason_phrase}: the error has been logged.\n"
        return mark_safe(text)  # noqa: S308 - served as text/plain, nothing of the request


class NoTechnicalPagesMiddleware:
    """First in MIDDLEWARE, so it covers every layer below it: errors anywhere in a request
    are shown with PortalErrorReporter, under DEBUG too (see its docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Django's documented per-request hook (only the technical 500 page reads it).
        request.exception_reporter_class = PortalErrorReporter  # type: ignore[attr-defined]
        return self.get_response(request)


class RequestContextMiddleware:
    """Gives every request an id (echoed as X-Request-ID), remembers the client IP, and
    answers errors the platform's way: a database that is gone is a 503 with Retry-After
    (never a 500), every error under /api/ is JSON, and a portal 404 is the portal's page,
    under DEBUG too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if incoming.isalnum() and len(incoming) <= 64 else new_request_id()
        request.request_id = rid  # type: ignore[attr-defined]
        token_rid = request_id_var.set(rid)
        token_ip = client_ip_var.set(client_ip(request))
        try:
            response = self.get_response(request)
            response = self._platform_error(request, response)
        finally:
            request_id_var.reset(token_rid)
            client_ip_var.reset(token_ip)
        response["X-Request-ID"] = rid
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # A view met a dropped connection: answered here, so it is not an "error" to log.
        if isinstance(exception, DATABASE_ERRORS):
            return database_unavailable(request, exception)
        if isinstance(exception, Http404) and settings.DEBUG and not is_api(request):
            # DEBUG would answer with Django's technical page: the portal's page instead.
            return _portal_not_found(request, exception)
        return None

    def _platform_error(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if response.status_code < 400:
            return response
        raised = getattr(request, "idp_exception", None)
        if response.status_code == 500 and isinstance(raised, DATABASE_ERRORS):
            # Raised outside a view (a middleware, a template): still a dependency down.
            return database_unavailable(request, raised)
        if (
            settings.DEBUG
            and response.status_code == 404
            and not is_api(request)
            and getattr(request, "resolver_match", None) is None
        ):
            # No URL matched: under DEBUG (as `make run` runs) Django would list every URL
            # pattern of the platform; the portal's 404 page says it plainly instead.
            return _portal_not_found(request, None)
        if not is_api(request) or response.streaming:
            return response
        if "json" in response.get("Content-Type", ""):
            return response
        # Django's own pages (DEBUG's technical 404/500, the default 400/403/405 pages).
        answer = json_error(response.status_code)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                answer[header] = response[header]
        return answer
