"""POST /webhooks/github/: signed GitHub events about pipelines' pull requests and runs."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from idp.services import ServiceError

from .runs import handle_event
from .webhook_schemas import check_payload

log = logging.getLogger(__name__)
HANDLED_EVENTS = {"workflow_run", "workflow_job", "pull_request"}
MAX_BODY = 5 * 1024 * 1024


# Other apps react to pushes (the catalog re-scans its locations) by registering a listener
# in their ready(); pipelines does not import them.
PushListener = Callable[[dict[str, Any]], Any]
_push_listeners: list[PushListener] = []


def on_push(listener: PushListener) -> None:
    """Call `listener(payload)` for every signed `push` event (registered once)."""
    if listener not in _push_listeners:
        _push_listeners.append(listener)


def _dispatch_push(payload: dict[str, Any]) -> JsonResponse:
    for listener in _push_listeners:
        try:
            listener(payload)
        except Exception:  # noqa: BLE001 - one listener's fault must not fail the delivery
            log.exception("push listener %s failed", getattr(listener, "__name__", listener))
    return JsonResponse({"status": "ok", "event": "push"})


def signature_ok(body: bytes, header: str, secret: str) -> bool:
    """X-Hub-Signature-256 is `sha256=` + the HMAC-SHA256 of the raw body with the secret."""
    if not secret or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


@csrf_exempt
@require_POST
def github_webhook(request: HttpRequest) -> JsonResponse:
    """Verify the signature first; nothing is read or stored before it matches."""
    body = request.body
    if len(body) > MAX_BODY:
        return JsonResponse({"detail": "Payload too large."}, status=413)
    header = request.headers.get("X-Hub-Signature-256", "")
    if not signature_ok(body, header, settings.GITHUB_WEBHOOK_SECRET):
        log.warning("github webhook with a bad or missing signature rejected")
        return JsonResponse({"detail": "Bad or missing signature."}, status=401)
    event = request.headers.get("X-GitHub-Event", "")
    delivery = request.headers.get("X-GitHub-Delivery", "")
    if event == "ping":
        return JsonResponse({"status": "pong"})
    if event not in HANDLED_EVENTS and not (event == "push" and _push_listeners):
        return JsonResponse({"status": "ignored", "event": event})
    if not delivery:
        return JsonResponse({"detail": "X-GitHub-Delivery is missing."}, status=400)
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return JsonResponse({"detail": "Body is not JSON."}, status=400)
    except RecursionError:
        return JsonResponse({"detail": "Body is nested too deeply."}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"detail": "Body is not a JSON object."}, status=400)
    try:
        # Signed but not what GitHub sends (`"repository": 5`, a run id that is no
        # number…): a 400 naming the field, and nothing is stored.
        check_payload(event, payload)
        if event == "push":
            return _dispatch_push(payload)
        result = handle_event(event, delivery, payload)
    except ServiceError as exc:
        return JsonResponse({"detail": exc.detail}, status=exc.status)
    return JsonResponse(result)
