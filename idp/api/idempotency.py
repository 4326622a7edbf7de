"""`Idempotency-Key` on every write of the API: the one rule, in one place.

A client that may send a write twice (a retry after a timeout, a CI job run again) sends
`Idempotency-Key: <1-200 printable ASCII characters, no spaces>` (another value is a 400).
For one principal (the signed-in user or service account) and one key:
- the first request runs and its answer (status, body) is stored, encrypted, for
  `IDP_IDEMPOTENCY_TTL_HOURS`;
- the same request again (method, path and body alike) is answered with that stored answer
  and `Idempotent-Replayed: true`, without acting again;
- another request with the key (another body, path or method) is a 422;
- a request sent while the first still runs waits a moment for its answer, then gets a 409
  with `Retry-After`: however many arrive at once, one acts.
The key is claimed by inserting a row under a unique (user, key) constraint before the
handler runs; the database, not the process, decides which request holds it. Answers of
5xx (and uncaught errors) are not kept: the key is free again. A request without the header
is untouched, and so is one nobody signed in for (the JWT and OIDC exchanges).

Handlers take it with `@idempotent` as their outermost decorator; it runs inside DRF's
`dispatch`, after authentication, permissions and throttling, and adds the header to the
operation's OpenAPI parameters (`idp.api.schema` documents the 422). The jobs' housekeeping
deletes expired keys (`purge_expired`).

Resource creation (`POST /api/v1/resources/`) keeps its older contract, bound to the
resource rather than to an answer: the key is stored on the resource
(`provisioning.actions.requests`), every repeat answers 200 with the resource as it is now.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from ..conf import setting
from ..crypto import decrypt_json, encrypt_json
from ..models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_LENGTH = 200
# A request that finds its key held waits this long for the first one's answer (most writes
# answer well within it), then answers 409.
WAIT_SECONDS = 2.0
POLL_SECONDS = 0.05
RETRY_AFTER_SECONDS = 1
# A key held longer than any request may run (the server's timeout is a minute) belongs to
# a request whose process died: the next request with it runs instead.
ABANDONED_AFTER = timedelta(minutes=5)
IN_PROGRESS = "a request with this Idempotency-Key is in progress"
MISMATCH = (
    "This Idempotency-Key was already used for another request (method, path or body); "
    "send a new key for a new request."
)
# Headers a handler sets that belong to the answer (framework ones are set again on replay).
HELD = "_idempotency_key_held"
KEPT_HEADERS = {"location", "retry-after", "deprecation", "sunset", "link"}

IDEMPOTENCY_KEY = OpenApiParameter(
    HEADER,
    {"type": "string", "minLength": 1, "maxLength": MAX_LENGTH, "pattern": "^[!-~]+$"},
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Repeat this write safely: the same key from the same principal with the same request "
        "(method, path, body) within IDP_IDEMPOTENCY_TTL_HOURS (24) answers with the first "
        "answer and `Idempotent-Replayed: true`, without acting again; the key with another "
        "request is a 422; while the first request runs, a repeat waits briefly, then "
        "answers 409 with Retry-After. Printable ASCII, at most 200 characters."
    ),
)

Handler = TypeVar("Handler", bound=Callable[..., Any])


def idempotent(handler: Handler) -> Handler:
    """Make a DRF handler (`post`, `create`, an `@action`, ...) honour `Idempotency-Key`.
    Apply it outermost, above `@extend_schema` and `@action`."""

    @functools.wraps(handler)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Any:
        key = _key(request)
        user = request.user
        nested = getattr(request, HELD, False)  # partial_update calling update
        if key is None or nested or not getattr(user, "is_authenticated", False):
            return handler(view, request, *args, **kwargs)
        held = _claim(user, key, request)
        if isinstance(held, Response):
            return held
        setattr(request, HELD, True)
        try:
            try:
                response = handler(view, request, *args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - rendered (or re-raised) as DRF would
                response = view.handle_exception(exc)
        except BaseException:  # a server error: nothing to repeat, the key is free again
            _release(held)
            raise
        _finish(held, response)
        return response

    return extend_schema(parameters=[IDEMPOTENCY_KEY])(wrapper)  # type: ignore[return-value]


def _key(request: Request) -> str | None:
    """The key the request sends (None: no header); one the schema does not allow is a 400."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not 0 < len(key) <= MAX_LENGTH or not all("!" <= char <= "~" for char in key):
        raise ValidationError(
            {HEADER: [f"1 to {MAX_LENGTH} printable ASCII characters, without spaces."]}
        )
    return key


def fingerprint(request: Request) -> str:
    """What makes two requests "the same": method, path (with its query) and the parsed
    body, canonical (key order and spacing do not count)."""
    data = request.data
    if hasattr(data, "lists"):  # a form or multipart body (QueryDict)
        data = {name: values for name, values in data.lists()}
    body = json.dumps(data, cls=JSONEncoder, sort_keys=True, default=str)
    text = f"{request.method}\n{request.get_full_path()}\n{body}"
    return hashlib.sha256(text.encode()).hexdigest()


def _ttl() -> timedelta:
    return timedelta(hours=float(setting("IDP_IDEMPOTENCY_TTL_HOURS")))


def _claim(user: Any, key: str, request: Request) -> IdempotencyKey | Response:
    """Hold the key for this request (the row), or the answer it gets instead: the stored
    one replayed, a 422 for another request, a 409 while the first one runs."""
    digest = fingerprint(request)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        now = timezone.now()
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(
                    user=user,
                    key=key,
                    method=request.method or "",
                    path=request.path[:2000],
                    fingerprint=digest,
                    started_at=now,
                    expires_at=now + _ttl(),
                )
        except IntegrityError:
            pass  # held already: by whom, and how far is it?
        found = IdempotencyKey.objects.filter(user=user, key=key).first()
        if found is None:
            continue  # purged meanwhile
        if found.expires_at <= now:  # an expired key is a new key
            IdempotencyKey.objects.filter(pk=found.pk, expires_at__lte=now).delete()
            continue
        if found.fingerprint != digest:
            return Response({"detail": MISMATCH}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        if found.finished_at is not None:
            return _replay(found)
        if found.started_at <= now - ABANDONED_AFTER and _take_over(found, now):
            return found
        if time.monotonic() >= deadline:
            return Response(
                {"detail": IN_PROGRESS},
                status=status.HTTP_409_CONFLICT,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        time.sleep(POLL_SECONDS)


def _take_over(found: IdempotencyKey, now: datetime) -> bool:
    """Hold a key whose request died holding it (compare-and-set: one taker wins)."""
    taken = IdempotencyKey.objects.filter(
        pk=found.pk, started_at=found.started_at, finished_at__isnull=True
    ).update(started_at=now)
    found.started_at = now
    return taken == 1


def _finish(held: IdempotencyKey, response: Any) -> None:
    """Store the answer with the key, or free the key when the answer is not one to repeat
    (a server error: the same request may succeed later)."""
    if not isinstance(response, Response) or response.status_code >= 500:
        _release(held)
        return
    headers = {name: value for name, value in response.items() if name.lower() in KEPT_HEADERS}
    # The body as text: replayed with its fields in the order they were first sent.
    body = json.dumps(response.data, cls=JSONEncoder)
    IdempotencyKey.objects.filter(pk=held.pk).update(
        finished_at=timezone.now(),
        status_code=response.status_code,
        answer=encrypt_json({"body": body, "headers": headers}),
    )


def _release(held: IdempotencyKey) -> None:
    IdempotencyKey.objects.filter(pk=held.pk, finished_at__isnull=True).delete()


def _replay(found: IdempotencyKey) -> Response:
    stored = decrypt_json(found.answer)
    headers = {**stored.get("headers", {}), REPLAYED_HEADER: "true"}
    data = json.loads(stored.get("body") or "null")
    return Response(data, status=found.status_code, headers=headers)


def purge_expired(now: datetime | None = None) -> int:
    """Delete the keys (and stored answers) past their expiry; their count."""
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
