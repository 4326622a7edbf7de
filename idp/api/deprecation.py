"""How /api/v1/ announces what it will remove (the policy is docs/api.md).

Within v1 changes are additive. An operation, or a field of one, that is to go is declared
once, in `DEPRECATIONS`, and from there:
- every answer of that operation carries `Deprecation` (RFC 9745: the date it was
  announced), `Sunset` (RFC 8594: the date after which it may be gone) and `Link`s to its
  successor and to the changelog (`DeprecationHeadersMiddleware`);
- the OpenAPI schema marks the operation or the field `deprecated: true` and says when and
  what replaces it (`mark_deprecated`, a drf-spectacular postprocessing hook);
- the changelog endpoint `GET /api/v1/changelog/` lists them (`ChangelogView`);
- the `idp` CLI prints a warning on stderr when an answer carries `Deprecation`.

An operation is named by its view: `module.Class.action` for a viewset's action
(`provisioning.api.views.RunViewSet.retrieve`), `module.Class.method` for a plain API view
(`idp.api.views.MeView.get`). The schema snapshot test (tests/api_contract/
test_schema_snapshot.py) refuses to let an operation or a field disappear unless it was
declared here first.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import http_date
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


@dataclass(frozen=True)
class Deprecation:
    operation: str  # the view: "module.Class.action"
    announced: date
    sunset: date
    successor: str  # what to use instead: a path such as /api/v1/…, or a field's name
    note: str
    field: str = ""  # a field of the operation's answer; empty: the whole operation

    def headers(self, changelog_url: str) -> dict[str, str]:
        announced = calendar.timegm(self.announced.timetuple())
        links = [f'<{changelog_url}>; rel="deprecation"; type="application/json"']
        if self.successor.startswith("/"):
            links.insert(0, f'<{self.successor}>; rel="successor-version"')
        return {
            "Deprecation": f"@{announced}",
            # The end of the sunset day, as an HTTP-date.
            "Sunset": http_date(calendar.timegm(self.sunset.timetuple()) + 86_399),
            "Link": ", ".join(links),
        }

    def describe(self) -> str:
        what = f"`{self.field}`" if self.field else "This operation"
        return (
            f"{what} is deprecated since {self.announced.isoformat()} and may be removed after "
            f"{self.sunset.isoformat()}: use {self.successor}. {self.note}".strip()
        )

    def as_dict(self) -> dict[str, str]:
        return {
            "operation": self.operation,
            "field": self.field,
            "announced": self.announced.isoformat(),
            "sunset": self.sunset.isoformat(),
            "successor": self.successor,
            "note": self.note,
        }


# Nothing in v1 is deprecated yet. An entry looks like:
# Deprecation(
#     operation="provisioning.api.views.RunViewSet.retrieve",
#     field="plan_counts",
#     announced=date(2027, 1, 4),
#     sunset=date(2027, 7, 5),
#     successor="plan_summary",
#     note="The counts are the lengths of plan_summary's lists.",
# ),
DEPRECATIONS: list[Deprecation] = []
MINIMUM_NOTICE_DAYS = 180


def operation_name(callback: Callable[..., Any], method: str) -> str:
    """The name of the operation a URL's view function serves for `method`, or ""."""
    view_class = getattr(callback, "cls", None)
    if view_class is None:
        return ""
    actions = getattr(callback, "actions", None)
    action = actions.get(method.lower(), "") if actions else method.lower()
    return f"{view_class.__module__}.{view_class.__qualname__}.{action}" if action else ""


def of_operation(name: str, entries: Iterable[Deprecation] | None = None) -> list[Deprecation]:
    return [d for d in (DEPRECATIONS if entries is None else entries) if d.operation == name]


def _operations(schema: dict[str, Any], generator: Any) -> Iterable[tuple[str, dict[str, Any]]]:
    """(operation name, its schema) for each endpoint the generator documented."""
    for path, _regex, method, callback in generator.endpoints or ():
        name = operation_name(callback, method)
        # The schema names {pk} as the generator coerces it ({id}).
        coerced = generator.coerce_path(path, method, generator.create_view(callback, method))
        operation = schema.get("paths", {}).get(coerced, {}).get(method.lower())
        if name and operation is not None:
            yield name, operation


def answer_fields() -> dict[str, set[str]]:
    """Each operation's name and the fields of its successful answers, from the schema."""
    from drf_spectacular.generators import SchemaGenerator

    generator = SchemaGenerator()
    schema = generator.get_schema(request=None, public=True)
    components = schema.get("components", {}).get("schemas", {})
    fields: dict[str, set[str]] = {}
    for name, operation in _operations(schema, generator):
        found = fields.setdefault(name, set())
        for answer in _answer_schemas(operation, components):
            found.update(answer.get("properties", {}))
    return fields


def problems(entries: Iterable[Deprecation], fields: dict[str, set[str]]) -> list[str]:
    """What is wrong with declared deprecations: an unknown operation or field, or a sunset
    sooner than the notice docs/api.md promises."""
    found = []
    for entry in entries:
        if entry.operation not in fields:
            found.append(f"{entry.operation}: no such operation")
        elif entry.field and entry.field not in fields[entry.operation]:
            found.append(f"{entry.operation}: its answer has no field {entry.field}")
        if (entry.sunset - entry.announced).days < MINIMUM_NOTICE_DAYS:
            found.append(f"{entry.operation}: sunset less than {MINIMUM_NOTICE_DAYS} days away")
    return found


def _changelog_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("api:changelog"))


class DeprecationHeadersMiddleware:
    """Adds Deprecation, Sunset and Link to the answers of a deprecated operation (or of one
    that answers with a deprecated field). One dictionary lookup per API request otherwise."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if not DEPRECATIONS or match is None:
            return response
        found = of_operation(operation_name(match.func, request.method or "GET"))
        if found:
            # The earliest sunset speaks for the answer; every field is in the changelog.
            first = min(found, key=lambda d: (d.sunset, d.announced))
            for header, value in first.headers(_changelog_url(request)).items():
                response[header] = value
        return response


def mark_deprecated(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing: `deprecated: true` on each declared operation, and on
    each declared field of the schema its answer uses, with when and what replaces it."""
    if not DEPRECATIONS:
        return result
    components = result.get("components", {}).get("schemas", {})
    for name, operation in _operations(result, generator):
        for deprecation in of_operation(name):
            if not deprecation.field:
                operation["deprecated"] = True
                operation["description"] = (
                    f"{operation.get('description', '')}\n\n{deprecation.describe()}".strip()
                )
                continue
            for schema in _answer_schemas(operation, components):
                prop = schema.get("properties", {}).get(deprecation.field)
                if prop is not None:
                    prop["deprecated"] = True
                    prop["description"] = (
                        f"{prop.get('description', '')} {deprecation.describe()}".strip()
                    )
    return result


def _answer_schemas(
    operation: dict[str, Any], components: dict[str, Any]
) -> Iterable[dict[str, Any]]:
    """The object schemas of an operation's successful JSON answers (a page's items too)."""
    for code, answer in operation.get("responses", {}).items():
        if not str(code).startswith("2"):
            continue
        schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
        seen: set[str] = set()
        stack = [schema]
        while stack:
            node = stack.pop()
            ref = node.get("$ref", "")
            if ref:
                name = ref.rsplit("/", 1)[-1]
                if name in seen or name not in components:
                    continue
                seen.add(name)
                node = components[name]
                yield node
            items = node.get("items")
            if isinstance(items, dict):
                stack.append(items)
            # A page: {"results": {"type": "array", "items": {...}}}
            results = node.get("properties", {}).get("results")
            if isinstance(results, dict):
                stack.append(results)


class ChangelogView(APIView):
    """What v1 has deprecated, when each may go, and what replaces it (any signed-in client)."""

    @extend_schema(
        operation_id="api_changelog",
        responses=inline_serializer(
            "Changelog",
            {
                "version": serializers.CharField(),
                "policy": serializers.CharField(),
                "deprecations": inline_serializer(
                    "DeprecationEntry",
                    {
                        name: serializers.CharField()
                        for name in (
                            "operation",
                            "field",
                            "announced",
                            "sunset",
                            "successor",
                            "note",
                        )
                    },
                    many=True,
                ),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        return Response(
            {
                "version": "v1",
                "policy": "Additive changes only within v1; a removal is announced with "
                f"Deprecation and Sunset headers at least {MINIMUM_NOTICE_DAYS} days before "
                "(docs/api.md).",
                "deprecations": [
                    d.as_dict() for d in sorted(DEPRECATIONS, key=lambda d: d.announced)
                ],
            }
        )
