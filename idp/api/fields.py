"""Serializer fields and filters the API's input shares."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field
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


# --- the schema's types, held: JSON input is not coerced ---------------------------------

MAX_ID = 2**63 - 1  # a database id, and the largest whole number a parameter takes
NO_VALUE = "Give a value, or leave the parameter out."
ONE_VALUE = "Give this parameter once."
NOT_BOOLEAN = "Use true or false."


def _type_error(field: serializers.Field, value: Any) -> Any:
    """What is wrong with a parsed JSON `value` for `field` by type alone, or None. DRF turns
    a number into a string, 0/1 into a boolean and "5" into an integer; the schema says
    string, boolean and integer, so a client relying on the coercion relies on something
    undocumented. Nested serializers, lists and dicts are checked item by item."""
    if value is None or value is serializers.empty:
        return None  # null and absence are the field's own rules
    if isinstance(field, serializers.ListSerializer) and isinstance(value, list):
        child = field.child
        assert child is not None
        errors = {i: e for i, e in enumerate(_type_error(child, v) for v in value) if e}
        return errors or None
    if isinstance(field, serializers.Serializer) and isinstance(value, dict):
        return _type_errors(field, value) or None
    if isinstance(field, serializers.ListField) and isinstance(value, list):
        errors = {i: e for i, e in enumerate(_type_error(field.child, v) for v in value) if e}
        return errors or None
    if isinstance(field, serializers.DictField) and isinstance(value, dict):
        errors = {k: e for k, v in value.items() if (e := _type_error(field.child, v))}
        return errors or None
    if isinstance(field, serializers.MultipleChoiceField) and isinstance(value, list):
        errors = {i: e for i, v in enumerate(value) if (e := _choice_type_error(field, v))}
        return errors or None
    if isinstance(field, serializers.ChoiceField):
        return _choice_type_error(field, value)
    if isinstance(field, VersionField) and _is_int(value):
        return None
    text = serializers.CharField | serializers.SlugRelatedField
    if isinstance(field, text) and not isinstance(value, str):
        return [f"Must be a string, not {json_kind(value)}."]
    limit = getattr(field, "max_length", None)
    if isinstance(field, serializers.CharField) and limit is not None and len(value) > limit:
        # DRF measures after trimming; the schema's maxLength counts what was sent.
        return [f"Ensure this field has no more than {limit} characters."]
    if isinstance(field, serializers.BooleanField) and not isinstance(value, bool):
        return [f"Must be true or false, not {json_kind(value)}."]
    if isinstance(field, serializers.IntegerField) and (
        isinstance(value, bool) or not isinstance(value, int | float)
    ):
        return [f"Must be a whole number, not {json_kind(value)}."]
    return None


@extend_schema_field(
    {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "maxLength": 100}]}
)
class VersionField(serializers.CharField):
    """A template version: its number (1, or "1") or its label (a source's tag, v1.1.0)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 100)
        super().__init__(**kwargs)


def _choice_type_error(field: serializers.ChoiceField, value: Any) -> Any:
    # DRF matches a choice by its text: 1 picked "1" and "1" picked 1; the schema's enum
    # holds one type.
    keys = list(field.choices)
    if keys and all(isinstance(key, str) for key in keys) and not isinstance(value, str):
        return [f"Must be a string, not {json_kind(value)}."]
    if keys and all(isinstance(key, int) for key in keys) and not _is_int(value):
        return [f"Must be a whole number, not {json_kind(value)}."]
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _type_errors(serializer: serializers.Serializer, data: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        error = _type_error(field, data.get(name, serializers.empty))
        if error:
            errors[name] = error
    return errors


class StrictTypes:
    """A serializer mixin: a JSON value of another type than the field's (a number for a
    string, 0 for false, "5" for an integer) is a 400 naming the field, as the schema says.
    Form-encoded bodies hold text only and keep DRF's parsing."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping) and not html.is_html_input(data):
            assert isinstance(self, serializers.Serializer)
            errors = _type_errors(self, data)
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictSerializer(StrictTypes, serializers.Serializer):
    """The base of request bodies: the schema's types, held."""


class StrictModelSerializer(StrictTypes, serializers.ModelSerializer):
    """The base of request bodies read into models: the schema's types, held."""


class WholeBody:
    """A PATCH body whose fields stay required: the view needs them whatever the method (DRF
    and drf-spectacular set `partial` on PATCH; here it stays off, so the schema says so)."""

    @property
    def partial(self) -> bool:
        return False

    @partial.setter
    def partial(self, value: bool) -> None:
        pass


# --- query parameters: a value the schema refuses is a 400 naming the parameter ----------


def query_value(request: Any, name: str) -> str | None:
    """The one value of a typed query parameter (a number, a date, a boolean, a choice), or
    None when it is absent. Empty or given twice is a 400: the schema types one value."""
    values = request.query_params.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise serializers.ValidationError({name: [ONE_VALUE]})
    if values[0] == "":
        raise serializers.ValidationError({name: [NO_VALUE]})
    return str(values[0])


def bool_query(request: Any, name: str) -> bool | None:
    """A boolean query parameter: true or false, else a 400."""
    value = query_value(request, name)
    if value is None:
        return None
    if value not in ("true", "false"):
        raise serializers.ValidationError({name: [NOT_BOOLEAN]})
    return value == "true"


def choice_query(request: Any, name: str, choices: Any) -> str | None:
    """A query parameter from a fixed set, else a 400 naming the choices."""
    value = query_value(request, name)
    if value is not None and value not in choices:
        raise serializers.ValidationError({name: [f"Choose one of {', '.join(choices)}."]})
    return value


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter's backend, held to the parameters it documents: a boolean that is not
    true/false, an empty number, date or choice, or a single-valued parameter given twice
    is a 400 naming the parameter (django-filter reads them as "no filter"). The portal
    shares the filtersets and keeps their lenient reading of its forms."""

    def filter_queryset(self, request: Any, queryset: Any, view: Any) -> Any:
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        errors: dict[str, list[str]] = {}
        for name, query_filter in filterset.filters.items():
            values = request.query_params.getlist(name)
            many = isinstance(query_filter, django_filters.MultipleChoiceFilter)
            if not values:
                continue
            if len(values) > 1 and not many:
                errors[name] = [ONE_VALUE]
            elif "" in values and not isinstance(query_filter, django_filters.CharFilter):
                errors[name] = [NO_VALUE]
            elif isinstance(query_filter, django_filters.BooleanFilter) and values[0] not in (
                "true",
                "false",
            ):
                errors[name] = [NOT_BOOLEAN]
        if not filterset.is_valid():
            for name, messages in filterset.errors.items():
                errors.setdefault(name, list(messages))
        if errors:
            raise serializers.ValidationError(errors)
        return filterset.qs


def int_query(
    request: Any, name: str, *, default: int, minimum: int = 1, maximum: int = MAX_ID
) -> int:
    """A whole-number query parameter within the range its schema states (idp.api.schema
    `int_param`), else a 400 naming it; absent: `default`."""
    value = query_value(request, name)
    if value is None:
        return default
    digits = value.lstrip("-")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > len(str(MAX_ID)):
        raise serializers.ValidationError({name: ["Must be a whole number."]})
    number = int(value)
    if not minimum <= number <= maximum:
        raise serializers.ValidationError({name: [f"Must be from {minimum} to {maximum}."]})
    return number


class SlugRuleField(serializers.RegexField):
    """A platform slug (idp.models.SLUG_PATTERN: lowercase letters, digits and hyphens,
    starting and ending with a letter or digit), its pattern in the schema. Not trimmed: the
    schema's pattern refuses the spaces DRF would have cut."""

    def __init__(self, max_length: int = 63, **kwargs: Any) -> None:
        from ..models import SLUG_RULE

        # \A and \Z: a trailing newline passes `$` in Python (drf-spectacular writes ^ and $).
        pattern = rf"\A[a-z0-9]([a-z0-9-]{{0,{max_length - 2}}}[a-z0-9])?\Z"
        kwargs.setdefault("error_messages", {"invalid": SLUG_RULE})
        kwargs.setdefault("trim_whitespace", False)
        # The pattern bounds the length: one rule, one message (no "at most 63 characters").
        super().__init__(pattern, **kwargs)


class LifetimeField(serializers.RegexField):
    """A token lifetime as people write it (idp.services.parse_token_lifetime): a number of
    hours, days or weeks, `12h`, `30d`, `2w`, or a bare number of days; its pattern in the
    schema. The longest lifetime is a platform setting (IDP_TOKEN_MAX_DAYS): over it is a 400
    the schema cannot state."""

    PATTERN = r"\A[1-9][0-9]{0,4}[hdw]?\Z"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", {"invalid": "Write a lifetime: 30d, 12h or 2w."})
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(self.PATTERN, max_length=6, **kwargs)
