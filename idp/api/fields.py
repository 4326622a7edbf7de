"""Serializer fields and filters the API's input shares."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField
from rest_framework import serializers
from rest_framework.utils import html

JSON_KINDS: tuple[tuple[type, str], ...] = (
    (bool, "a boolean"),  # before int: True is an int too
    (int, "a number"),
    (float, "a number"),
    (str, "a string"),
    (list, "an array"),
)

NOT_JSON = object()


def json_kind(value: Any) -> str:
    """The JSON name of a parsed value's type, for an error message."""
    return next((name for kind, name in JSON_KINDS if isinstance(value, kind)), "null")


class JSONObjectField(serializers.DictField):
    """A JSON object and nothing else: null, an array, a string or a number answer 400 with the
    field's name. DRF's DictField skipped the field in a form-encoded body (so `parameters=null`
    became "no parameters"); here the form field holds the object as JSON text."""

    default_error_messages = {
        "null": "Must be a JSON object, not null.",
        "not_an_object": "Must be a JSON object, not {kind}.",
        "not_json": "Must be a JSON object; in a form-encoded body, the object as JSON text.",
    }

    def get_value(self, dictionary: Mapping[str, Any]) -> Any:
        name = self.field_name or ""
        if not html.is_html_input(dictionary) or name not in dictionary:
            # JSON bodies as DRF reads them; form bodies keep DRF's `name.key=value` spelling.
            return super().get_value(dictionary)
        text = dictionary[name]
        try:
            return json.loads(text) if isinstance(text, str) else text
        except ValueError:
            # Raised here, the error would not name the field: run_validation says it.
            return NOT_JSON

    def to_internal_value(self, data: Any) -> dict[Any, Any]:
        if data is NOT_JSON:
            self.fail("not_json")
        if not isinstance(data, dict):
            self.fail("not_an_object", kind=json_kind(data))
        return super().to_internal_value(data)


class UTCDateTimeField(IsoDateTimeField):
    """An ISO date-time, turned into UTC: PostgreSQL refuses offsets past ±15:59 (a 500), and
    a date at the edge of the calendar cannot move to UTC (a 400, not an OverflowError)."""

    def to_python(self, value: Any) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError("Give a date-time within the calendar.") from None


class UTCDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UTCDateTimeField
