"""How values read on every page: money in one format, parameters as JSON, long values folded.

`{% load values %}` then `{{ amount|money }}`, `{{ value|json_value }}` and
`{% long_value value %}`.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

# Values longer than this are shown cut, with an expander for the whole value.
FOLD_AT = 120
CENTS = Decimal("0.01")


def format_money(amount: Any, currency: str = "$") -> str:
    """`$1,234.50`: two decimals, thousands separated; "—" for no amount."""
    if amount is None or amount == "":
        return "—"
    try:
        value = Decimal(str(amount)).quantize(CENTS, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return str(amount)
    sign = "-" if value < 0 else ""
    return f"{sign}{currency}{abs(value):,.2f}"


def to_json_text(value: Any) -> str:
    """A value the way users write it: strings as they are, everything else as JSON
    (`true`, `{"tier": "gold"}`), never a Python repr."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, sort_keys=False, default=str)
    except (TypeError, ValueError):
        return str(value)


@register.filter
def money(amount: Any) -> str:
    return format_money(amount)


@register.filter
def json_value(value: Any) -> str:
    return to_json_text(value)


@register.simple_tag
def long_value(value: Any, limit: int = FOLD_AT) -> SafeString:
    """The value as JSON text in <code>; past `limit` characters, the start with a
    <details> expander holding the whole value (which wraps instead of widening the page)."""
    text = to_json_text(value)
    if len(text) <= limit:
        return format_html('<code class="value">{}</code>', text)
    return format_html(
        '<details class="long-value"><summary><code class="value">{}…</code> '
        '<span class="small muted">show all {} characters</span></summary>'
        '<pre class="value-full">{}</pre></details>',
        text[:limit],
        f"{len(text):,}",
        text,
    )
