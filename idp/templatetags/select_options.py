"""`{% options choices selected %}`: the <option> elements of a select, built in Python.

A template loop over a platform admin's 500 teams was most of the resource list's time.
"""

from collections.abc import Iterable
from typing import Any

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

SELECTED = mark_safe(" selected")


@register.simple_tag
def options(choices: Iterable[tuple[Any, Any]], selected: Any = "") -> SafeString:
    """One <option> per (value, label) pair; `selected` is a value or a list of values."""
    chosen = {str(selected)} if isinstance(selected, str | int) else {str(v) for v in selected}
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((value, SELECTED if str(value) in chosen else "", label) for value, label in choices),
    )
