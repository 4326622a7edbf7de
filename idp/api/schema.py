"""drf-spectacular postprocessing: what every operation shares, documented once.

Each view documents its own answers (`error_responses(...)` for its specific errors); this hook
adds those that come from the shared machinery rather than the view, so no operation can
forget them, all with the `{"detail": ...}` body of `idp.api.exceptions`:
- 400 bad input (a body, a query parameter, a NUL byte anywhere), 404 (an unknown id, a page
  past the end), 409 on writes (the state changed under the request);
- 401 and 403 on every operation that needs a token (authentication and token scopes run
  before any view code), and 429 when a token's rate is spent;
- 503 when the database (or a cloud service behind the answer) does not answer;
- 422 on writes that take an `Idempotency-Key` (`idp.api.idempotency`): the key was used
  for another request.
Request bodies are documented as JSON only: the form parsers stay for clients that post forms
(the JWT endpoints), but JSON is the contract.
"""

from __future__ import annotations

from typing import Any

ERROR_REF = {"$ref": "#/components/schemas/Error"}
JSON = "application/json"
WRITES = {"post", "put", "patch", "delete"}
DESCRIPTIONS = {
    "400": "Bad input (field -> messages under detail)",
    "401": "Not signed in",
    "403": "Not allowed (your role, or the token's scopes or team)",
    "404": "Not found, or not yours (also a page past the end of a list)",
    "409": "Conflict with the current state",
    "422": "This Idempotency-Key was already used for another request",
    "429": "Too many requests for this token; retry after Retry-After seconds",
    "503": "A dependency (the database, a cloud API) did not answer; retry later",
}
RETRY_AFTER = {
    "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"},
}


def _error(code: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "content": {JSON: {"schema": ERROR_REF}},
        "description": DESCRIPTIONS[code],
    }
    if code in {"429", "503"}:
        response["headers"] = RETRY_AFTER
    return response


def _needs_auth(operation: dict[str, Any], default_security: list[Any]) -> bool:
    security = operation.get("security", default_security)
    return any(requirement for requirement in security)


def _json_bodies_only(operation: dict[str, Any]) -> None:
    content = operation.get("requestBody", {}).get("content", {})
    if JSON in content:
        for media_type in [m for m in content if m != JSON]:
            del content[media_type]


# A text that holds something besides spaces (Python's \s also holds \x1c-\x1f; the schema's
# regex does not).
HOLDS_TEXT = r"[^\s\u001c-\u001f]"


def _holds_text(schema: Any) -> None:
    """Required text of a request body is trimmed by DRF before it is checked, so spaces alone
    are "blank" (400): say so with a pattern wherever the schema says minLength >= 1 and
    nothing more precise (a pattern, a format, an enum)."""
    if isinstance(schema, list):
        for item in schema:
            _holds_text(item)
        return
    if not isinstance(schema, dict):
        return
    if (
        schema.get("type") == "string"
        and schema.get("minLength", 0) >= 1
        and not {"pattern", "format", "enum"} & schema.keys()
    ):
        schema["pattern"] = HOLDS_TEXT
    for key in ("properties", "items", "oneOf", "anyOf", "allOf", "additionalProperties"):
        value = schema.get(key)
        _holds_text(list(value.values()) if key == "properties" and value else value)


def document_default_errors(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Add the shared error answers to every operation that lacks them, and say that required
    text of a request body holds more than spaces."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            _holds_text(component)
    default_security = result.get("security", [])
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            _json_bodies_only(operation)
            codes = ["400", "404", "503"]
            if _needs_auth(operation, default_security):
                codes += ["401", "403", "429"]
            if method in WRITES:
                codes.append("409")
            if any(
                p.get("in") == "header" and p.get("name") == "Idempotency-Key"
                for p in operation.get("parameters", [])
            ):
                codes.append("422")
            responses = operation["responses"]
            for code in codes:
                responses.setdefault(code, _error(code))
            for code, response in responses.items():
                if code[0] in "45" and "content" not in response:
                    # A view that named an error without a body still answers {"detail": ...}.
                    response["content"] = {JSON: {"schema": ERROR_REF}}
    return result


MAX_ID = 2**63 - 1


def int_param(
    name: str, description: str = "", *, minimum: int = 1, maximum: int = MAX_ID, **kw: Any
) -> Any:
    """A whole-number query parameter whose range the schema states (out of range: 400)."""
    from drf_spectacular.utils import OpenApiParameter

    schema = {"type": "integer", "minimum": minimum, "maximum": maximum}
    return OpenApiParameter(name, schema, description=description, **kw)
