"""The one rule for sensitive parameters, and the one mask shown in their place.

The catalog decides: the loader marks a parameter whose Terraform variable says
`sensitive = true` with `x-sensitive` in the version's JSON Schema, and everything else
(validation messages, forms, pages, API answers, the runner's redaction) asks here.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "********"


def is_sensitive(prop: Any) -> bool:
    """Whether one JSON Schema property is a sensitive parameter."""
    return isinstance(prop, dict) and prop.get("x-sensitive") is True


def sensitive_names(version: Any) -> list[str]:
    """The sensitive parameters of a template version (sorted)."""
    if version is None:
        return []
    props = (getattr(version, "parameters_schema", None) or {}).get("properties") or {}
    return sorted(name for name, prop in props.items() if is_sensitive(prop))


def split(version: Any, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(plain, sensitive) parts of a version's parameter values."""
    secret = set(sensitive_names(version))
    return (
        {k: v for k, v in values.items() if k not in secret},
        {k: v for k, v in values.items() if k in secret},
    )


def masked(version: Any, values: dict[str, Any]) -> dict[str, Any]:
    """The values with every sensitive one (that is set) replaced by the mask."""
    secret = set(sensitive_names(version))
    return {k: (MASK if k in secret and v is not None else v) for k, v in values.items()}


def redact_credentials(text: str) -> str:
    """Text with the credentials of any URL in it removed (`https://user:token@host`)."""
    return re.sub(r"(\b[a-z][a-z0-9+.-]*://)[^/@\s]+@", r"\1***@", text)
