"""Secrets never reach a run's log: known secret values are replaced before anything is stored."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from catalog.sensitivity import MASK

__all__ = ["MASK", "Redactor"]
# Access key ids and anything that looks like `secret_key = …` in free text.
_PATTERNS = [
    re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
    re.compile(r"(?i)(aws_secret_access_key|aws_session_token)(\s*[=:]\s*)\S+"),
]


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
        if "\n" in value:  # Terraform prints multi-line values one line at a time
            yield from (part for part in value.splitlines() if part.strip())
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)
    elif value is not None and not isinstance(value, bool):
        yield str(value)


class Redactor:
    """Replaces every known secret (longest first) and AWS-key-shaped text with a mask."""

    def __init__(self, secrets: Iterable[Any] = ()) -> None:
        self._secrets: set[str] = set()
        self.add(*secrets)

    def add(self, *values: Any) -> None:
        for value in values:
            for text in _strings(value):
                # Very short values would mask ordinary words; they are not worth hiding.
                if len(text.strip()) >= 4:
                    self._secrets.add(text)
        self._ordered = sorted(self._secrets, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._ordered:
            if secret in text:
                text = text.replace(secret, MASK)
        text = _PATTERNS[0].sub(MASK, text)
        return _PATTERNS[1].sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
