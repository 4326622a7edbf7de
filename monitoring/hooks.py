"""The HTTPS endpoint SNS posts alarm notifications to (`/hooks/sns/`).

No session, no CSRF token: the SNS signature is the authentication. A message that is not
provably from SNS about one of the platform's topics answers 403 and records nothing.
"""

from __future__ import annotations

import json
import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .services import aws, sns

logger = logging.getLogger(__name__)

MAX_BODY = 256 * 1024  # SNS messages are at most 256 KiB


@csrf_exempt
@require_POST
def sns_endpoint(request: HttpRequest) -> JsonResponse:
    """Verify and record one SNS message (notification or subscription confirmation)."""
    if len(request.body) > MAX_BODY:
        return JsonResponse({"detail": "Message too large."}, status=400)
    try:
        message = json.loads(request.body)
    except ValueError:
        return JsonResponse({"detail": "The body is not JSON."}, status=400)
    if not isinstance(message, dict):
        return JsonResponse({"detail": "The body is not an SNS message."}, status=400)
    try:
        result = sns.receive(message)
    except sns.SignatureError as exc:
        logger.warning("SNS message refused: %s", exc)
        return JsonResponse({"detail": "Not a verified SNS message."}, status=403)
    except Exception as exc:  # noqa: BLE001 - AWS down while confirming: SNS retries
        logger.warning("SNS message not handled: %s", aws.error_text(exc))
        return JsonResponse({"detail": "Try again later."}, status=503)
    return JsonResponse(result)
