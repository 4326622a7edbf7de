from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .context import client_ip_var, new_request_id, request_id_var


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


class RequestContextMiddleware:
    """Gives every request an id (echoed as X-Request-ID) and remembers the client IP."""

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
        finally:
            request_id_var.reset(token_rid)
            client_ip_var.reset(token_ip)
        response["X-Request-ID"] = rid
        return response
