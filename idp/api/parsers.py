"""The API's JSON parser: DRF's, with a nesting limit.

Python's json module recurses once per level: a body of a thousand "[" ran out of stack
(RecursionError, a 500) before any view saw it, on every endpoint, signed in or not.
No request here needs more than a few levels, so anything past MAX_DEPTH is a 400.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 64
TOO_DEEP = f"JSON parse error - nested too deeply (more than {MAX_DEPTH} levels)."


def deeper_than(data: Any, limit: int) -> bool:
    """Whether lists and objects in `data` nest more than `limit` levels (no recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = list(value.values())
        elif not isinstance(value, list):
            continue
        if depth > limit:
            return True
        stack.extend((item, depth + 1) for item in value if isinstance(item, dict | list))
    return False


class DepthLimitedJSONParser(JSONParser):
    """JSON bodies nested deeper than MAX_DEPTH answer 400 {"detail": "... nested too deeply"}."""

    max_depth = MAX_DEPTH

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        if deeper_than(data, self.max_depth):
            raise ParseError(TOO_DEEP)
        return data
