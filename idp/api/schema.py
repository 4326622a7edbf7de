"""drf-spectacular postprocessing: the error answers every list shares, documented once.

Each view documents its own errors with `error_responses(...)`; this hook adds the ones that
come from the shared machinery rather than the view, so no list can forget them:
- 401 on every operation that needs a token (authentication runs before any view code);
- 404 on every paginated list (a page past the end answers 404 "Invalid page.");
- 400 on lists whose filters are typed (an unknown choice or a malformed date is bad input).
"""

from __future__ import annotations

from typing import Any

ERROR_REF = {"$ref": "#/components/schemas/Error"}
# Query parameters of the shared backends that never answer 400 (bad values are ignored).
UNCHECKED_PARAMS = {"page", "page_size", "search", "ordering"}
DESCRIPTIONS = {
    "400": "Bad input (an unknown filter value)",
    "401": "Not signed in",
    "404": "Not found (also a page past the end of a list)",
}


def _error(code: str) -> dict[str, Any]:
    return {
        "content": {"application/json": {"schema": ERROR_REF}},
        "description": DESCRIPTIONS[code],
    }


def _needs_auth(operation: dict[str, Any], default_security: list[Any]) -> bool:
    security = operation.get("security", default_security)
    return any(requirement for requirement in security)


def _has_checked_filter(operation: dict[str, Any]) -> bool:
    """A typed filter (enum, number, boolean, date…) can answer 400; a free-text one cannot."""
    for param in operation.get("parameters", []):
        if param.get("in") != "query" or param["name"] in UNCHECKED_PARAMS:
            continue
        schema = param.get("schema", {})
        if schema.get("type", "string") != "string" or "enum" in schema or "format" in schema:
            return True
    return False


def document_default_errors(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Add the shared 400/401/404 answers to operations that lack them."""
    default_security = result.get("security", [])
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            if _needs_auth(operation, default_security):
                responses.setdefault("401", _error("401"))
            params = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
            if method == "get" and "page" in params:
                responses.setdefault("404", _error("404"))
                if _has_checked_filter(operation):
                    responses.setdefault("400", _error("400"))
    return result
