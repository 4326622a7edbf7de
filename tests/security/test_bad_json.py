"""Deeply nested JSON is a bad request (400 with the reason), never a crash (500)."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from idp.api.exceptions import exception_handler
from tests.utils import assert_error, assert_ok


def arrays(depth: int) -> str:
    return "[" * depth + "]" * depth


def objects(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


NESTED = {
    "arrays-1000": arrays(1000),
    "objects-1000": objects(1000),
    "arrays-100000": arrays(100_000),
    # Below Python's recursion limit, still far deeper than any request needs.
    "objects-200": objects(200),
    "in-a-field": '{"username": ' + arrays(1000) + ', "password": "x"}',
}


def assert_too_deep(response) -> None:
    body = assert_error(response, 400)
    assert "nested too deeply" in str(body["detail"]), body


@pytest.mark.parametrize("name", NESTED)
def test_token_endpoint_refuses_nested_json_anonymously(name, db):
    response = APIClient().post(
        "/api/v1/auth/token/", NESTED[name], content_type="application/json"
    )
    assert_too_deep(response)


@pytest.mark.parametrize("name", ["arrays-1000", "objects-1000", "objects-200"])
def test_signed_in_endpoints_refuse_nested_json(name, alice, api_as):
    api = api_as(alice)
    assert_too_deep(api.post("/api/v1/resources/", NESTED[name], content_type="application/json"))
    assert_too_deep(api.post("/api/v1/tokens/", NESTED[name], content_type="application/json"))


def test_ordinary_nesting_still_parses(alice, api_as):
    # Parameters nest a few levels (objects of lists of objects): well inside the limit.
    body = {"name": "cli", "extra": {"a": [{"b": [{"c": [1, 2, {"d": {}}]}]}]}}
    created = assert_ok(
        api_as(alice).post("/api/v1/tokens/", json.dumps(body), content_type="application/json"),
        201,
    )
    assert created["name"] == "cli"
    assert_error(
        APIClient().post("/api/v1/auth/token/", objects(30), content_type="application/json"),
        400,
        field="username",
    )


def test_a_recursion_error_past_the_parser_is_a_400_not_a_500():
    # Nested input that reaches a view some other way (a JSON string in a form field that
    # a serializer's JSONField loads) ends as the same 400.
    response = exception_handler(RecursionError("maximum recursion depth exceeded"), {})
    assert response is not None and response.status_code == 400
    assert "nested too deeply" in response.data["detail"]
