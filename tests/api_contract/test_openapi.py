"""The OpenAPI schema is valid, and every operation answers per the schema (schemathesis)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from idp import services
from tests.utils import assert_error

# All phases: the coverage phase's boundary cases (non-numeric ids, unknown filter values,
# pages past the end) found real 500s and undocumented answers; fuzzing adds 3 cases each.
# Unexpected HTTP methods (405 from DRF itself) are skipped: they doubled the run time.
CONFIG = SchemathesisConfig.from_dict(
    {
        "phases": {
            "coverage": {"enabled": True, "unexpected-methods": []},
            "examples": {"enabled": True},
        }
    }
)
# Loaded through the WSGI app: no server; every operation becomes its own test item.
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/?format=json", get_wsgi_application(), config=CONFIG
)
OPERATIONS = sorted(
    f"{method.upper()} {path}"
    for path, item in schema.raw_schema["paths"].items()
    for method in item
    if method in {"get", "post", "put", "patch", "delete"}
)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


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


@pytest.fixture
def admin_token(platform_admin: Any, teams: Any) -> str:
    return services.create_api_token(platform_admin, name="schemathesis")[1]


@pytest.fixture
def wsgi_keeps_test_connection() -> Any:
    """Requests go through the raw WSGI handler, which closes the DB connection at the end
    of a request (inside the test's transaction: PostgreSQL would lose it). Django's test
    client does the same as this."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_answers_per_schema(
    case: Any, admin_token: str, wsgi_keeps_test_connection: Any
) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"}, checks=CHECKS)


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
