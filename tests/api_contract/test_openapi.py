"""The OpenAPI schema is valid and documents what every operation shares; schemathesis runs
every check over every operation against a live server in live_contract."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from openapi_spec_validator import validate
from schemathesis.config import SchemathesisConfig

from tests.utils import assert_error, assert_ok

# The schema as schemathesis reads it (the live run is in live_contract).
CONFIG = SchemathesisConfig.from_dict(
    {
        "phases": {
            "coverage": {"enabled": True, "unexpected-methods": []},
            "examples": {"enabled": True},
        }
    }
)
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/?format=json", get_wsgi_application(), config=CONFIG
)
OPERATIONS = sorted(
    f"{method.upper()} {path}"
    for path, item in schema.raw_schema["paths"].items()
    for method in item
    if method in {"get", "post", "put", "patch", "delete"}
)


def test_schema_passes_the_openapi_validator(client, db):
    body = client.get("/api/schema/?format=json").json()
    validate(body)
    assert body["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "/api/v1/status/" in body["paths"]
    assert len(OPERATIONS) >= 10


@pytest.mark.parametrize("operation", [op for op in OPERATIONS if " /api/v1/auth/" not in op])
def test_operation_documents_auth_and_401(operation):
    method, path = operation.split(" ", 1)
    spec = schema.raw_schema["paths"][path][method.lower()]
    security = spec.get("security", schema.raw_schema.get("security", []))
    assert {"bearerAuth": []} in security
    assert "401" in spec["responses"], f"{operation} documents no 401"


def test_a_page_past_the_end_is_documented(api_as, alice):
    response = api_as(alice).get("/api/v1/teams/?page=99")
    assert_error(response, 404)
    responses = schema.raw_schema["paths"]["/api/v1/teams/"]["get"]["responses"]
    assert responses["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }


LISTS = sorted(
    path
    for path, item in schema.raw_schema["paths"].items()
    if any(p["name"] == "page" for p in item.get("get", {}).get("parameters", []))
)


@pytest.mark.parametrize("path", LISTS)
def test_every_list_documents_its_error_answers(path):
    """A page past the end (404) and, with typed filters, a bad filter value (400)."""
    spec = schema.raw_schema["paths"][path]["get"]
    assert {"401", "404"} <= set(spec["responses"]), path
    typed = [
        p
        for p in spec["parameters"]
        if p["in"] == "query"
        and p["name"] not in {"page", "page_size"}
        and (p["schema"].get("type") != "string" or "enum" in p["schema"])
    ]
    if typed:
        assert "400" in spec["responses"], f"{path} filters by {typed[0]['name']}, no 400"


def test_lists_answer_a_bad_filter_value_with_400(api_as, alice):
    response = api_as(alice).get("/api/v1/pipelines/?template=no-such-template")
    assert_error(response, 400, "template")
    response = api_as(alice).get("/api/v1/audit/?since=yesterday")
    assert_error(response, 400, "since")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/resources/abc/",
        "/api/v1/runs/abc/",
        "/api/v1/pipelines/abc/",
        "/api/v1/pipelines/abc/runs/",
    ],
)
def test_a_malformed_id_is_404_not_500(api_as, alice, path):
    assert_error(api_as(alice).get(path), 404)


def test_a_malformed_pipeline_id_is_404_for_writes_too(api_as, bob):
    client = api_as(bob)
    assert_error(client.patch("/api/v1/pipelines/abc/", {"options": {}}), 404)
    assert_error(client.post("/api/v1/pipelines/abc/deliver/"), 404)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_operation_documents_the_shared_errors_as_json(operation):
    """400/404/503 everywhere, 401/403/429 with a token, 409 on writes; JSON bodies only."""
    method, path = operation.split(" ", 1)
    spec = schema.raw_schema["paths"][path][method.lower()]
    expected = {"400", "404", "503"}
    if " /api/v1/auth/" not in operation:
        expected |= {"401", "403", "429"}
    if method != "GET":
        expected.add("409")
    assert expected <= set(spec["responses"]), operation
    for code, response in spec["responses"].items():
        if code[0] in "45":
            assert "application/json" in response.get("content", {}), (operation, code)
    assert set(spec.get("requestBody", {}).get("content", {})) <= {"application/json"}


@pytest.mark.parametrize("size", ["null", "0", "-3", "ten"])
def test_a_bad_page_size_is_a_400_not_the_default(api_as, alice, size):
    assert_error(api_as(alice).get(f"/api/v1/teams/?page_size={size}"), 400, "page_size")
    assert len(assert_ok(api_as(alice).get("/api/v1/teams/?page_size=999"))["results"]) >= 1


def test_a_run_id_past_the_integer_range_is_a_400_not_a_503(api_as, alice, make_run):
    resource = make_run("plan", "succeeded", seconds=1).resource
    path = f"/api/v1/resources/{resource.pk}/cloudwatch-logs/?run="
    assert_error(api_as(alice).get(f"{path}{2**70}"), 400, "run")
    assert_error(api_as(alice).get(f"{path}-{2**70}"), 400, "run")
